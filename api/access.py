"""Who may do what: the visibility rule every image endpoint applies, and staff-only routes."""

from __future__ import annotations

from django.db.models import Q
from django.http import Http404
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import BasePermission

from records.models import Image
from registry import public_images


class IsStaff(BasePermission):
    message = "Only staff can manage people."

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_staff)


def visible_images(user):
    """Public images and the user's own: another user's private image does not exist (404)."""
    return Image.objects.filter(Q(is_private_image=False) | Q(owner=user))


def image_list_queryset(user):
    return visible_images(user).select_related("registry")


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


def require_owner(request, image: Image) -> None:
    if image.owner_id != request.user.pk and not request.user.is_staff:
        raise PermissionDenied(
            f"You can read {image.name} but not change it: it belongs to someone else."
        )
