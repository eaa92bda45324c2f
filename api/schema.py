"""OpenAPI pieces the views share, and the description of our authentication (a
drf-spectacular extension, registered when this module is imported)."""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiParameter

ERROR = {
    "type": "object",
    "properties": {"error": {"type": "string"}, "fields": {"type": "object"}},
}
PAGE_PARAMS = [
    OpenApiParameter("limit", int, description="Page size (default 25; 0 = the maximum)."),
    OpenApiParameter("offset", int, description="Index of the first object."),
]
NAME = OpenApiParameter("name", str, OpenApiParameter.PATH, description="Image name, raw.")
TAG = OpenApiParameter("tag", str, OpenApiParameter.PATH)


class TutumAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "api.auth.TutumAuthentication"
    name = ["basicAuth", "tutumApiKey"]

    def get_security_definition(self, auto_schema):
        return [
            {
                "type": "http",
                "scheme": "basic",
                "description": (
                    "Basic base64(username:apikey), as Tutum's clients send, or "
                    "base64(username:password), as the tutum CLI sends after `tutum login`."
                ),
            },
            {
                "type": "apiKey",
                "in": "header",
                "name": "Authorization",
                "description": "Tutum's `ApiKey username:apikey`.",
            },
        ]
