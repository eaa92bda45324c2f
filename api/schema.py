"""OpenAPI description of the API's authentication schemes (a drf-spectacular extension)."""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension


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
