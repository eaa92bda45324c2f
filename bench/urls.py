"""The project's URLs plus /baseline/images/: the least Django can do for the same page."""

from __future__ import annotations

from django.http import JsonResponse
from django.urls import path

from api.models import Image
from tutumweb.urls import urlpatterns as project_urlpatterns


def baseline_images(request):
    queryset = Image.objects.order_by("name")
    if name := request.GET.get("name"):
        queryset = queryset.filter(name=name)
    rows = list(queryset.values("name", "description", "state", "is_private_image")[:25])
    return JsonResponse({"total_count": queryset.count(), "objects": rows})


def hello(request):
    return JsonResponse({"hello": "world"})


urlpatterns = [
    path("baseline/images/", baseline_images),
    path("baseline/hello/", hello),
    *project_urlpatterns,
]
