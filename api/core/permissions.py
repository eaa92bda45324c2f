"""Who may do what, as HTTP: images found by the visibility rule (teams.access) or 404,
staff-only routes, and the few endpoints a team access token may use."""

from __future__ import annotations

from django.http import Http404
from rest_framework.permissions import BasePermission

from records.models import Image
from registry import public_images
from teams import access
from teams.access import Ability
from teams.tokens import NOT_FOR_TOKENS, TokenPrincipal

# The methods of a view marked with @token_allowed, read by TeamTokensWhereAllowed.
TOKEN_METHODS = "team_token_methods"


def token_allowed(*methods: str):
    """Let team access tokens call these methods of a view (above @api_view, like
    @extend_schema); every other endpoint and method refuses them with a 403."""
    allowed = frozenset(methods) | ({"HEAD"} if "GET" in methods else set())

    def mark(view):
        setattr(view.cls, TOKEN_METHODS, allowed)
        return view

    return mark


def is_team_token(request) -> bool:
    return isinstance(request.user, TokenPrincipal)


class TeamTokensWhereAllowed(BasePermission):
    """A team access token reaches only what it is for: reading, pushing and building the
    images in its scope. A person is not concerned."""

    message = NOT_FOR_TOKENS

    def has_permission(self, request, view) -> bool:
        if not isinstance(request.user, TokenPrincipal):
            return True
        return request.method in getattr(view, TOKEN_METHODS, ())


class IsStaff(BasePermission):
    message = "Only staff can manage people."

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_staff)


def visible_images(user):
    """Public images, the user's own and their teams': any other private image is a 404."""
    return access.visible_images(user)


def image_list_queryset(user):
    return visible_images(user).select_related("registry", "team")


def _visible_named(user, name: str) -> Image | None:
    """The image `name` if `user` may see it. For a person, found by its name and checked
    by its reach (teams.access.can_see): the same rule as visible_images, without the
    subquery that made compiling this lookup cost more than running it."""
    if isinstance(user, TokenPrincipal):
        return image_list_queryset(user).filter(name=name).first()
    image = Image.objects.select_related("registry", "team").filter(name=name).first()
    return image if image is not None and access.can_see(user, image) else None


def get_image(request, name: str) -> Image:
    """The visible image `name`; a public name seen for the first time is looked up."""
    image = _visible_named(request.user, name)
    # A token sees none of the public images a lookup would add.
    if (
        image is None
        and request.method == "GET"
        and not is_team_token(request)
        and not Image.objects.filter(name=name).exists()
        and public_images.inspect_public_image(name) is not None
    ):
        image = _visible_named(request.user, name)
    if image is None:
        raise Http404(f"No image named {name}.")
    return image


def require(request, image: Image, ability: Ability) -> None:
    """A 403 saying why and who can, unless the caller may do `ability` with `image`."""
    access.require(request.user, image, ability)  # lib.errors.Forbidden: api.core.errors → 403
