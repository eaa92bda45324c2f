"""Error shape for every API response: {"error": "message"} plus "fields" for validation.

The one place where errors become responses: the domain's own (lib.errors, by kind), Django's
(Http404, PermissionDenied, ValidationError, a body too large) and DRF's.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from django.shortcuts import render
from django.views import defaults
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from api.core import negotiation
from lib import errors

# Each kind of domain error and its status; the first that matches wins (subclasses first).
_STATUS = (
    (errors.NotFound, 404),
    (errors.Forbidden, 403),
    (errors.Conflict, 409),
    (errors.Unavailable, 502),
    (errors.TooManyTries, 429),
    (errors.TryLater, 503),
)


def _from_domain(error: errors.DomainError) -> exceptions.APIException:
    """The DRF exception that answers a domain error, so it is shaped (and its transaction
    rolled back) like every other."""
    if isinstance(error, errors.Invalid):
        return exceptions.ValidationError(error.fields or [error.message])
    answer = exceptions.APIException(error.message)
    answer.status_code = next((s for kind, s in _STATUS if isinstance(error, kind)), 500)
    # DRF's handler sends `wait` as Retry-After.
    answer.wait = getattr(error, "retry_after", None)
    return answer


def _first_message(detail) -> str:
    if isinstance(detail, list):
        return _first_message(detail[0]) if detail else ""
    if isinstance(detail, dict):
        return _first_message(next(iter(detail.values()))) if detail else ""
    return str(detail)


def _flatten(detail, prefix: str = "") -> dict[str, list[str]]:
    """Nested serializer errors as {"build_source.build_settings.0.tag": ["..."]}."""
    fields: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            fields.update(_flatten(value, name))
    elif isinstance(detail, list) and detail and not all(isinstance(i, str) for i in detail):
        for index, value in enumerate(detail):
            if value:
                fields.update(_flatten(value, f"{prefix}.{index}"))
    else:
        fields[prefix or "non_field_errors"] = (
            [str(m) for m in detail] if isinstance(detail, list) else [str(detail)]
        )
    return fields


def exception_handler(exc, context):
    if isinstance(exc, errors.DomainError):
        exc = _from_domain(exc)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) or "Not found.")
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    elif isinstance(exc, DjangoValidationError):
        # The rules below the API (accounts, ...) raise Django's; answer them like a form's.
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else exc.messages
        )
    elif isinstance(exc, RequestDataTooBig):
        # DRF reads a JSON body through Django's request.body, which checks its size first.
        exc = exceptions.ParseError(
            f"The request body is larger than {negotiation.max_body_bytes()} bytes."
        )
    elif type(exc) is exceptions.Throttled:
        # DRF's own wording ("Request was throttled. Expected available in 3412 seconds.").
        minutes = max(1, round((exc.wait or 60) / 60))
        exc.detail = (
            f"Too many requests from your address: try again in {minutes} "
            f"minute{'s' if minutes != 1 else ''}."
        )
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        fields = _flatten(exc.detail)
        name, messages = next(iter(fields.items()))
        message = messages[0] if name == "non_field_errors" else f"{name}: {messages[0]}"
        response.data = {"error": message, "fields": fields}
    else:
        response.data = {"error": _first_message(exc.detail)}
    return response


def error_response(message: str, status: int, fields: dict | None = None) -> Response:
    body = {"error": message}
    if fields:
        body["fields"] = fields
    return Response(body, status=status)


def not_found(request, exception=None):
    if request.path.startswith("/api/"):
        return JsonResponse({"error": f"No such endpoint: {request.path}"}, status=404)
    return render(request, "404.html", {"path": request.path}, status=404)


def server_error(request):
    if request.path.startswith("/api/"):
        return JsonResponse({"error": "Internal server error."}, status=500)
    return render(request, "500.html", status=500)


def bad_request(request, exception=None):
    """Django's own 400s (a Host header it refuses, a malformed request) in the API's shape."""
    if request.path.startswith("/api/"):
        return JsonResponse({"error": "Bad request."}, status=400)
    return defaults.bad_request(request, exception)
