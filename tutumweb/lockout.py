"""django-axes' answer to a paused sign-in (AXES_LOCKOUT_CALLABLE): an HTTP response, so it
lives here rather than beside the rule in accounts.credentials."""

from __future__ import annotations

from django.http import HttpResponse

from accounts.credentials import SignInsPaused, seconds_left


def lockout_response(request, original_response, credentials) -> HttpResponse:
    """A paused sign-in outside the API (Django's admin login) as plain text with Retry-After.

    The API's own 429 (with its JSON error and Retry-After) is kept as it is.
    """
    if original_response is not None and original_response.status_code == 429:
        return original_response
    username = (credentials or {}).get("username") or "this account"
    paused = SignInsPaused(username, seconds_left(request, username))
    response = HttpResponse(paused.message, status=429, content_type="text/plain; charset=utf-8")
    response["Retry-After"] = str(paused.retry_after)
    return response
