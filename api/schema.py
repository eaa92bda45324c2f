"""OpenAPI descriptions of the API's authentication schemes (drf-spectacular extensions)."""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "api.auth.ApiKeyAuthentication"
    name = ["basicApiKey", "tutumApiKey"]

    def get_security_definition(self, auto_schema):
        return [
            {
                "type": "http",
                "scheme": "basic",
                "description": "Basic base64(username:apikey), as current Tutum clients send.",
            },
            {
                "type": "apiKey",
                "in": "header",
                "name": "Authorization",
                "description": "Tutum's `ApiKey username:apikey`.",
            },
        ]


class PasswordAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "api.auth.PasswordAuthentication"
    name = "basicPassword"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "basic",
            "description": "Basic base64(username:password), only to obtain the API key.",
        }
