"""The project's URLs plus /baseline/images/: the least Django can do for the same page."""

from __future__ import annotations

from django.db.models import Q
from django.http import HttpResponse, JsonResponse
from django.urls import path, re_path

from images import services
from images.session import credentials
from records.models import Image, Membership, Tag
from tutumweb.urls import urlpatterns as project_urlpatterns


def baseline_images(request):
    """The same page of images with their tag names, written as plainly as Django allows.

    `?member=<user id>`: only what that person may see (public images, their own and their
    teams'), as one filter with a subquery of their team ids; nobody signs in.
    """
    queryset = Image.objects.order_by("name")
    if name := request.GET.get("name"):
        queryset = queryset.filter(name=name)
    if member := request.GET.get("member"):
        teams = Membership.objects.filter(user_id=member).values("team_id")
        queryset = queryset.filter(
            Q(is_private_image=False) | Q(owner_id=member) | Q(team_id__in=teams)
        )
    rows = list(queryset.values("id", "name", "description", "state", "is_private_image")[:25])
    tags: dict[int, list[str]] = {row["id"]: [] for row in rows}
    for image_id, tag in Tag.objects.filter(image_id__in=tags).values_list("image_id", "name"):
        tags[image_id].append(tag)
    for row in rows:
        row["tags"] = tags[row.pop("id")]
    return JsonResponse({"total_count": queryset.count(), "objects": rows})


def floor(request):
    """The admin's list page minus its own work: the session's key, the API call, no page."""
    page = services.list_images(credentials(request), order="name")
    return HttpResponse(f"{page.total}")


def tag_floor(request, name: str, tag: str):
    """The tag page minus its own work: the session's key and the tag's API call, no page."""
    found = services.get_tag(credentials(request), name, tag)
    return HttpResponse(found.name)


def hello(request):
    return JsonResponse({"hello": "world"})


urlpatterns = [
    path("baseline/images/", baseline_images),
    path("baseline/hello/", hello),
    path("baseline/floor/", floor),
    re_path(r"^baseline/tag-floor/(?P<name>.+)/-/(?P<tag>[^/]+)/$", tag_floor),
    *project_urlpatterns,
]
