"""Routes of cleanup policies: an image's (an extension of the image route, unless an image
is named `…/cleanup-policy`) and a namespace's."""

from __future__ import annotations

from django.urls import path, re_path

from api.images.urls import NAME, or_image_named
from api.policies import views

urlpatterns = [
    re_path(
        rf"^image/{NAME}/cleanup-policy/preview/$",
        or_image_named("cleanup-policy/preview", views.image_policy_preview),
        name="image-policy-preview",
    ),
    re_path(
        rf"^image/{NAME}/cleanup-policy/$",
        or_image_named("cleanup-policy", views.image_policy),
        name="image-policy",
    ),
    path(
        "namespace/<str:namespace>/cleanup-policy/",
        views.namespace_policy,
        name="namespace-policy",
    ),
    path(
        "namespace/<str:namespace>/cleanup-policy/preview/",
        views.namespace_policy_preview,
        name="namespace-policy-preview",
    ),
]
