from __future__ import annotations

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

urlpatterns = [
    path("api/v1/", include("api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("django-admin/", admin.site.urls),
    path("", include("images.urls")),
]

handler400 = "api.core.errors.bad_request"
handler404 = "api.core.errors.not_found"
handler500 = "api.core.errors.server_error"
