"""Routes of builds: a tag's builds (before the image routes: image names are raw), a build
and its log, and the GitHub push webhook."""

from __future__ import annotations

from django.urls import path, re_path

from api.builds import views
from api.images.urls import NAME

urlpatterns = [
    re_path(rf"^image/{NAME}/tag/(?P<tag>[^/]+)/build/$", views.tag_build, name="tag-build"),
    path("build/<uuid:uuid>/", views.build_detail, name="build-detail"),
    path("build/<uuid:uuid>/log/", views.build_log, name="build-log"),
    path("build/<uuid:uuid>/cancel/", views.build_cancel, name="build-cancel"),
    re_path(rf"^hooks/github/{NAME}/$", views.github_webhook, name="github-webhook"),
]
