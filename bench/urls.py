"""The project's URLs plus /baseline/images/: the least Django can do for the same page."""

from __future__ import annotations

import json
import secrets
import time
from functools import cache

import jwt
from cryptography.hazmat.primitives import serialization
from django.conf import settings
from django.db.models import Q
from django.http import Http404, HttpResponse, JsonResponse
from django.urls import path, re_path
from rest_framework.decorators import api_view
from rest_framework.response import Response

from api.core.permissions import token_allowed
from images.services import images as image_service
from images.session import credentials
from records.models import Image, Membership, Tag
from registry.tokens import key_id
from tutumweb.urls import urlpatterns as project_urlpatterns


def _visible(queryset, params):
    """`?member=<user id>`: only what that person may see (public images, their own and their
    teams'), as one filter with a subquery of their team ids; nobody signs in."""
    if member := params.get("member"):
        teams = Membership.objects.filter(user_id=member).values("team_id")
        queryset = queryset.filter(
            Q(is_private_image=False) | Q(owner_id=member) | Q(team_id__in=teams)
        )
    return queryset


def baseline_images(request):
    """The same page of images with their tag names, written as plainly as Django allows."""
    return JsonResponse(_baseline_page(request.GET))


@token_allowed("GET")
@api_view(["GET"])
def api_floor(request):
    """baseline_images served as the API serves: signed in (an API key), through DRF's
    request, permissions and renderer. What any API request costs before its own work."""
    return Response(_baseline_page(request.query_params))


def _baseline_page(params) -> dict:
    """The page of baseline_images. The API's filters have plain counterparts, so each path
    has its own floor: `?name=`, `?contains=` (name__icontains), `?public=1`
    (is_private_image=false), `?order=-last_build_date`, `?limit=` and `?offset=`."""
    queryset = _visible(Image.objects.order_by("name"), params)
    if name := params.get("name"):
        queryset = queryset.filter(name=name)
    if contains := params.get("contains"):
        queryset = queryset.filter(name__icontains=contains)
    if params.get("public"):
        queryset = queryset.filter(is_private_image=False)
    if params.get("order") == "-last_build_date":
        queryset = queryset.order_by("-last_build_date", "name")
    limit = int(params.get("limit", 25))
    offset = int(params.get("offset", 0))
    fields = ("id", "name", "description", "state", "is_private_image")
    rows = list(queryset.values(*fields)[offset : offset + limit])
    tags: dict[int, list[str]] = {row["id"]: [] for row in rows}
    for image_id, tag in Tag.objects.filter(image_id__in=tags).values_list("image_id", "name"):
        tags[image_id].append(tag)
    for row in rows:
        row["tags"] = tags[row.pop("id")]
    # `?count=no`: bench/scale.py's fixed floor (a count reads every row it counts).
    total = None if params.get("count") == "no" else queryset.count()
    return {"total_count": total, "objects": rows}


def baseline_image(request, name: str):
    """One image (`?member=`: if that person may see it) with its tag names."""
    fields = ("id", "name", "description", "state", "is_private_image")
    row = _visible(Image.objects.filter(name=name), request.GET).values(*fields).first()
    if row is None:
        raise Http404(name)
    row["tags"] = list(Tag.objects.filter(image_id=row.pop("id")).values_list("name", flat=True))
    return JsonResponse(row)


def baseline_tags(request, name: str):
    """The first page of an image's tags with their layer's id and date, and their count;
    `?order=-creation`: newest layer first, as the API's order_by."""
    image = _visible(Image.objects.filter(name=name), request.GET).values_list("id", flat=True)
    image_id = image.first()
    if image_id is None:
        raise Http404(name)
    queryset = Tag.objects.filter(image_id=image_id).order_by("name")
    if request.GET.get("order") == "-creation":
        queryset = queryset.order_by("-layer__creation", "name")
    fields = ("name", "state", "digest", "layer__docker_id", "layer__creation")
    rows = list(queryset.values(*fields)[: int(request.GET.get("limit", 25))])
    return JsonResponse({"total_count": queryset.count(), "objects": rows})


def floor(request):
    """The admin's list page minus its own work: the session's key, the API call, no page."""
    page = image_service.list_images(credentials(request), order="name")
    return HttpResponse(f"{page.total}")


def tag_floor(request, name: str, tag: str):
    """The tag page minus its own work: the session's key and the tag's API call, no page."""
    found = image_service.get_tag(credentials(request), name, tag)
    return HttpResponse(found.name)


def hello(request):
    return JsonResponse({"hello": "world"})


def asked_scopes(values: list[str]) -> tuple[str, ...]:
    return tuple(sorted(scope for value in values for scope in value.split()))


@cache
def token_granting(scopes: tuple[str, ...]) -> bytes:
    """A registry token granting every scope asked, as our realm's JSON answer, signed once
    with our key (valid for an hour): what our realm answers minus its work (the sign-in,
    the access rules, the write-token record, a signature per request)."""
    key = serialization.load_pem_private_key(settings.REGISTRY_TOKEN_KEY.read_bytes(), None)
    now = int(time.time())
    access = []
    for scope in scopes:
        kind, _, rest = scope.partition(":")
        name, _, actions = rest.rpartition(":")
        access.append({"type": kind, "name": name, "actions": actions.split(",")})
    claims = {
        "iss": settings.REGISTRY_TOKEN_ISSUER,
        "aud": settings.REGISTRY_TOKEN_SERVICE,
        "sub": "bench",
        "iat": now,
        "nbf": now - 5,
        "exp": now + 3600,
        "jti": secrets.token_hex(16),
        "access": access,
    }
    headers = {"kid": key_id(key.public_key())}
    token = jwt.encode(claims, key, algorithm="RS256", headers=headers)
    return json.dumps({"token": token, "access_token": token, "expires_in": 3600}).encode()


def registry_token(request):
    """bench/push.py's floor of our token realm served by Django, as the API serves it."""
    scopes = asked_scopes(request.GET.getlist("scope"))
    return HttpResponse(token_granting(scopes), content_type="application/json")


urlpatterns = [
    path("baseline/images/", baseline_images),
    path("baseline/api-floor/", api_floor),
    re_path(r"^baseline/image/(?P<name>.+)/tag/$", baseline_tags),
    re_path(r"^baseline/image/(?P<name>.+)/$", baseline_image),
    path("baseline/hello/", hello),
    path("baseline/registry-token/", registry_token),
    path("baseline/floor/", floor),
    re_path(r"^baseline/tag-floor/(?P<name>.+)/-/(?P<tag>[^/]+)/$", tag_floor),
    *project_urlpatterns,
]
