"""Who may do what, as HTTP: images found by the visibility rule (teams.access) or 404, and
staff-only routes."""

from __future__ import annotations

from django.http import Http404
from rest_framework.permissions import BasePermission

from records.models import Image
from registry import public_images
from teams import access
from teams.access import Ability


class IsStaff(BasePermission):
    message = "Only staff can manage people."

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_staff)


def visible_images(user):
    """Public images, the user's own and their teams': any other private image is a 404."""
    return access.visible_images(user)


def image_list_queryset(user):
    return visible_images(user).select_related("registry", "team")


def get_image(request, name: str) -> Image:
    """The visible image `name`; a public name seen for the first time is looked up."""
    image = image_list_queryset(request.user).filter(name=name).first()
    if (
        image is None
        and request.method == "GET"
        and not Image.objects.filter(name=name).exists()
        and public_images.inspect_public_image(name) is not None
    ):
        image = image_list_queryset(request.user).filter(name=name).first()
    if image is None:
        raise Http404(f"No image named {name}.")
    return image


def require(request, image: Image, ability: Ability) -> None:
    """A 403 saying why and who can, unless the caller may do `ability` with `image`."""
    access.require(request.user, image, ability)  # Django's PermissionDenied: api.errors → 403
