"""Routes of the recycle bin: an image's recently deleted tags (an extension of the image
route, unless an image is named `…/deleted`) and everything you may restore."""

from __future__ import annotations

from django.urls import path, re_path

from api.bin import views
from api.images.urls import NAME, or_image_named

urlpatterns = [
    re_path(
        rf"^image/{NAME}/deleted/$",
        or_image_named("deleted", views.image_deleted),
        name="image-deleted",
    ),
    path("deleted/", views.deleted_list, name="deleted-list"),
    path("deleted/<int:entry_id>/", views.deleted_detail, name="deleted-detail"),
    path("deleted/<int:entry_id>/restore/", views.deleted_restore, name="deleted-restore"),
]
