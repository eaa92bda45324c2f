"""The project's URLs minus our sign-in endpoint: a stand-in for another Tutum server."""

from __future__ import annotations

from django.urls import include, path

from api.urls import urlpatterns as api_urls
from tutumweb.urls import urlpatterns as project_urls

urlpatterns = [
    path("api/v1/", include([p for p in api_urls if p.name != "session"])),
    *[p for p in project_urls if not str(p.pattern).startswith("api/v1/")],
]
