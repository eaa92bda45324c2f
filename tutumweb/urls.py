from __future__ import annotations

from csp.constants import SELF
from csp.decorators import csp_update
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from tutumweb import health, metrics

# The API's interactive reference, from the schema: Swagger UI served from our own static files
# (drf-spectacular-sidecar), its start-up script a file of its own (`?script`) rather than
# inline, so the site's Content-Security-Policy holds here too, but for the data: images
# Swagger UI's stylesheet carries.
api_docs = csp_update({"img-src": [SELF, "data:"]})(
    SpectacularSwaggerSplitView.as_view(url_name="schema", template_name="api_docs.html")
)

urlpatterns = [
    # On every API and admin process, for the load balancer in front of them.
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    # Prometheus, for whoever holds METRICS_TOKEN (a 404 when it is not set).
    path("metrics", metrics.metrics, name="metrics"),
    path("api/v1/", include("api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", api_docs, name="api-docs"),
    path("django-admin/", admin.site.urls),
    path("", include("images.urls")),
]

handler400 = "api.core.errors.bad_request"
handler404 = "api.core.errors.not_found"
handler500 = "api.core.errors.server_error"
