"""/api/v1/ routes. Image names are raw (slashes, host:port), so tag routes match first."""

from __future__ import annotations

from django.urls import path, re_path
from django.views.decorators.csrf import csrf_exempt

from api import (
    access_views,
    bin_views,
    build_views,
    policy_views,
    registry_views,
    views,
)
from api.accounts import urls as accounts_urls
from api.audit import urls as audit_urls
from api.people import urls as people_urls
from api.teams import urls as teams_urls
from records.models import Image

NAME = r"(?P<name>[^?#]+?)"


def _or_image_named(suffix: str, view):
    """`…/<suffix>/` is an extension of an image (who reaches it, its recently deleted tags),
    unless an image is really named `…/<suffix>` (a valid name): that image's own endpoint
    wins, as Tutum's clients expect."""

    @csrf_exempt  # as every API view: API clients authenticate each request, with no cookie
    def dispatch(request, name: str):
        literal = f"{name}/{suffix}"
        if Image.objects.filter(name=literal).exists():
            return views.image_detail(request, name=literal)
        return view(request, name=name)

    # drf-spectacular documents the route by the DRF view these attributes name.
    dispatch.cls = view.cls
    dispatch.initkwargs = view.initkwargs
    return dispatch


urlpatterns = [
    # Spread rather than include()d, so each route stays a top-level pattern: a stand-in
    # server (tests/urls_without_sessions.py) drops one by its name.
    *accounts_urls.urlpatterns,
    path("account/access/", access_views.account_access, name="account-access"),
    *people_urls.urlpatterns,
    *teams_urls.urlpatterns,
    *audit_urls.urlpatterns,
    path("registry-token/", registry_views.registry_token, name="registry-token"),
    path("registry-events/", registry_views.registry_events, name="registry-events"),
    path("image/", views.image_list, name="image-list"),
    re_path(rf"^image/{NAME}/tag/(?P<tag>[^/]+)/build/$", build_views.tag_build, name="tag-build"),
    re_path(rf"^image/{NAME}/tag/(?P<tag>[^/]+)/$", views.tag_detail, name="tag-detail"),
    re_path(rf"^image/{NAME}/tag/$", views.tag_list, name="tag-list"),
    re_path(
        rf"^image/{NAME}/cleanup-policy/preview/$",
        _or_image_named("cleanup-policy/preview", policy_views.image_policy_preview),
        name="image-policy-preview",
    ),
    re_path(
        rf"^image/{NAME}/cleanup-policy/$",
        _or_image_named("cleanup-policy", policy_views.image_policy),
        name="image-policy",
    ),
    re_path(
        rf"^image/{NAME}/deleted/$",
        _or_image_named("deleted", bin_views.image_deleted),
        name="image-deleted",
    ),
    re_path(
        rf"^image/{NAME}/access/$",
        _or_image_named("access", access_views.image_access),
        name="image-access",
    ),
    re_path(rf"^image/{NAME}/$", views.image_detail, name="image-detail"),
    path("deleted/", bin_views.deleted_list, name="deleted-list"),
    path(
        "namespace/<str:namespace>/cleanup-policy/",
        policy_views.namespace_policy,
        name="namespace-policy",
    ),
    path(
        "namespace/<str:namespace>/cleanup-policy/preview/",
        policy_views.namespace_policy_preview,
        name="namespace-policy-preview",
    ),
    path("deleted/<int:entry_id>/", bin_views.deleted_detail, name="deleted-detail"),
    path("deleted/<int:entry_id>/restore/", bin_views.deleted_restore, name="deleted-restore"),
    path("build/<uuid:uuid>/", build_views.build_detail, name="build-detail"),
    path("build/<uuid:uuid>/log/", build_views.build_log, name="build-log"),
    path("build/<uuid:uuid>/cancel/", build_views.build_cancel, name="build-cancel"),
    re_path(rf"^hooks/github/{NAME}/$", build_views.github_webhook, name="github-webhook"),
    path("layer/<str:docker_id>/", views.layer_detail, name="layer-detail"),
    path("registry/", views.registry_list, name="registry-list"),
    re_path(r"^registry/(?P<host>[^/]+)/$", views.registry_detail, name="registry-detail"),
]
