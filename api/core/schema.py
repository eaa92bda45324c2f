"""OpenAPI pieces the views share, the description of our authentication (a drf-spectacular
extension, registered when this module is imported) and the 403 team access tokens get."""

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
    target_class = "api.core.auth.TutumAuthentication"
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


def document_token_refusals(result, generator, request, public):
    """A postprocessing hook: every signed-in operation that team access tokens may not use
    (api.core.permissions.token_allowed) answers them 403, so each says so."""
    for path, _, method, callback in generator.endpoints:
        operation = result["paths"].get(path, {}).get(method.lower())
        if not operation or not any("basicAuth" in s for s in operation.get("security", [])):
            continue
        if method in getattr(callback.cls, "team_token_methods", ()):
            continue
        operation["responses"].setdefault(
            "403",
            {
                "content": {"application/json": {"schema": ERROR}},
                "description": "Team access tokens may not use this endpoint.",
            },
        )
    return result
