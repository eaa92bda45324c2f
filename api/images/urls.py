"""Routes of images, tags, layers and registries. Image names are raw (slashes, host:port),
so the bare image route (`image_urlpatterns`) goes last in api/urls.py: it matches every
path under image/ that no route before it took."""

from __future__ import annotations

from django.urls import path, re_path
from django.views.decorators.csrf import csrf_exempt

from api.images import views
from records.models import Image

NAME = r"(?P<name>[^?#]+?)"


def or_image_named(suffix: str, view):
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
    path("image/", views.image_list, name="image-list"),
    re_path(rf"^image/{NAME}/tag/(?P<tag>[^/]+)/$", views.tag_detail, name="tag-detail"),
    re_path(rf"^image/{NAME}/tag/$", views.tag_list, name="tag-list"),
    path("layer/<str:docker_id>/", views.layer_detail, name="layer-detail"),
    path("registry/", views.registry_list, name="registry-list"),
    re_path(r"^registry/(?P<host>[^/]+)/$", views.registry_detail, name="registry-detail"),
]

image_urlpatterns = [
    re_path(rf"^image/{NAME}/$", views.image_detail, name="image-detail"),
]
