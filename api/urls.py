"""/api/v1/ routes. Image names are raw (slashes, host:port), so tag routes match first."""

from __future__ import annotations

from django.urls import path, re_path
from django.views.decorators.csrf import csrf_exempt

from api import (
    access_views,
    account_views,
    audit_views,
    bin_views,
    build_views,
    joining_views,
    people_views,
    policy_views,
    registry_views,
    team_views,
    views,
)
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
    path("auth/", views.auth, name="auth"),
    path("session/", account_views.session, name="session"),
    path("account/", account_views.account, name="account"),
    path("account/password/", account_views.account_password, name="account-password"),
    path("account/access/", access_views.account_access, name="account-access"),
    path("user/", people_views.user_list, name="user-list"),
    path("user/<str:username>/", people_views.user_detail, name="user-detail"),
    path(
        "user/<str:username>/reset-link/",
        people_views.user_reset_link,
        name="user-reset-link",
    ),
    path("password-reset/", people_views.password_reset, name="password-reset"),
    path(
        "password-reset/request/",
        people_views.password_reset_request,
        name="password-reset-request",
    ),
    path("invitation/", joining_views.invitation_list, name="invitation-list"),
    path(
        "invitation/<int:invitation_id>/",
        joining_views.invitation_detail,
        name="invitation-detail",
    ),
    path(
        "invitation/<int:invitation_id>/resend/",
        joining_views.invitation_resend,
        name="invitation-resend",
    ),
    path("team-invitation/<str:token>/", team_views.invitation_link, name="team-invitation-link"),
    path("invite/<str:token>/", joining_views.invite, name="invite"),
    path("account/invitation/", team_views.my_invitation_list, name="my-invitation-list"),
    path(
        "account/invitation/<int:invitation_id>/",
        team_views.my_invitation_detail,
        name="my-invitation-detail",
    ),
    path("audit/", audit_views.audit_list, name="audit-list"),
    path("team/", team_views.team_list, name="team-list"),
    path("team/<str:team>/", team_views.team_detail, name="team-detail"),
    path("team/<str:team>/member/", team_views.member_list, name="member-list"),
    path(
        "team/<str:team>/member/<str:username>/",
        team_views.member_detail,
        name="member-detail",
    ),
    path(
        "team/<str:team>/invitation/",
        team_views.team_invitation_list,
        name="team-invitation-list",
    ),
    path(
        "team/<str:team>/invitation/<int:invitation_id>/",
        team_views.team_invitation_detail,
        name="team-invitation-detail",
    ),
    path("team/<str:team>/token/", team_views.team_token_list, name="team-token-list"),
    path(
        "team/<str:team>/token/<int:token_id>/",
        team_views.team_token_detail,
        name="team-token-detail",
    ),
    path("signup/", joining_views.signup, name="signup"),
    path("apikey/", account_views.apikey_list, name="apikey-list"),
    path("apikey/<int:key_id>/", account_views.apikey_detail, name="apikey-detail"),
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
