"""Routes of who reaches what: an image's (an extension of the image route, unless an image
is named `…/access`) and yours."""

from __future__ import annotations

from django.urls import path, re_path

from api.access import views
from api.images.urls import NAME, or_image_named

urlpatterns = [
    path("account/access/", views.account_access, name="account-access"),
    re_path(
        rf"^image/{NAME}/access/$",
        or_image_named("access", views.image_access),
        name="image-access",
    ),
]
