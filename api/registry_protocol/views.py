"""Endpoints our registry calls: the token realm and the push notifications sink."""

from __future__ import annotations

import hmac
import logging

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.decorators import (
    api_view,
    authentication_classes,
    parser_classes,
    permission_classes,
)
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from accounts.credentials import (
    SecondFactorNeeded,
    SignInsPaused,
    refusal_message,
    user_for_credentials,
)
from api.core.auth import REALM, Throttled, parse_authorization
from api.core.negotiation import LimitedJSONParser
from api.registry_protocol.shapes import (
    ERROR,
    RegistryEventsAcceptedSerializer,
    RegistryEventsSerializer,
    RegistryTokenSerializer,
    accepted_json,
)
from registry import events as push_events
from registry import tokens
from registry.client import RegistryError
from teams import tokens as team_tokens

log = logging.getLogger(__name__)


class EventsParser(LimitedJSONParser):
    media_type = "application/vnd.docker.distribution.events.v1+json"


def _unauthorized(message: str, challenge: str) -> Response:
    response = Response({"error": message}, status=status.HTTP_401_UNAUTHORIZED)
    response["WWW-Authenticate"] = challenge
    return response


@extend_schema(
    operation_id="registry_token",
    summary="Token for our registry (Docker registry token protocol)",
    description=(
        "Called by registry clients with Basic username:apikey (or password), or a team "
        "access token's `<team>+<name>:secret`. Grants only the actions the user (or the "
        "token, in its scope) may do; an empty `access` is a valid answer. While our "
        "registry's storage is being tidied, a request asking for push or delete is refused "
        "with 401, an `errors` body and `Retry-After`."
    ),
    parameters=[
        OpenApiParameter("service", str, required=True),
        OpenApiParameter("scope", str, many=True, description="e.g. repository:acc/app:pull"),
        OpenApiParameter("account", str),
    ],
    responses={
        200: RegistryTokenSerializer,
        400: ERROR,
        401: ERROR,
        429: ERROR,
    },
    auth=[],
)
@api_view(["GET"])
@authentication_classes([])
@permission_classes([AllowAny])
def registry_token(request):
    user = grant = None
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if header:
        parsed = parse_authorization(header)
        if parsed is None or parsed[0] != "basic":
            return _unauthorized("Send Basic username:apikey.", REALM)
        _, username, secret = parsed
        grant = tokens.build_grant(username, secret)
        if grant is None and team_tokens.is_token_username(username):
            # `docker login -u <team>+<token>`: a token only, never a password to count.
            user = team_tokens.principal_for(username, secret)
            if user is None:
                return _unauthorized(team_tokens.REFUSAL, REALM)
        elif grant is None:
            try:
                result = user_for_credentials(request._request, "basic", username, secret)
            except SignInsPaused as paused:
                raise Throttled(paused) from None
            except SecondFactorNeeded as needed:
                return _unauthorized(str(needed), REALM)
            if result is None:
                return _unauthorized(refusal_message("basic", secret), REALM)
            user = result[0]
    service = request.query_params.get("service", "")
    if service != settings.REGISTRY_TOKEN_SERVICE:
        return Response(
            {
                "error": f"Unknown service '{service}'; this server issues tokens for "
                f"'{settings.REGISTRY_TOKEN_SERVICE}'."
            },
            status=status.HTTP_400_BAD_REQUEST,
        )
    scopes = [s for value in request.query_params.getlist("scope") for s in value.split(" ") if s]
    if grant is not None:
        access, subject = tokens.build_access(grant, scopes), grant.get("subject", "")
    else:
        access = tokens.granted_access(user, scopes)
        subject = user.get_username() if user else ""
    return Response(tokens.issue_token(subject, access))


def _event_secret_ok(request) -> bool:
    secret = settings.REGISTRY_NOTIFICATION_SECRET
    header = request.META.get("HTTP_AUTHORIZATION", "")
    return bool(secret) and hmac.compare_digest(header.encode(), f"Bearer {secret}".encode())


@extend_schema(
    operation_id="registry_events",
    summary="Push notifications from our registry",
    description="Authenticated with the shared secret in `Authorization: Bearer <secret>`.",
    request=RegistryEventsSerializer,
    responses={
        200: RegistryEventsAcceptedSerializer,
        400: ERROR,
        401: ERROR,
        429: ERROR,
        503: ERROR,
    },
    auth=[],
)
@api_view(["POST"])
@authentication_classes([])
@permission_classes([AllowAny])
@parser_classes([EventsParser, LimitedJSONParser])
def registry_events(request):
    if not _event_secret_ok(request):
        return _unauthorized("Wrong or missing notification secret.", 'Bearer realm="registry"')
    events = request.data.get("events") if isinstance(request.data, dict) else None
    problem = push_events.malformed(events)
    if problem:
        return Response({"error": problem}, status=status.HTTP_400_BAD_REQUEST)
    accepted = 0
    for event in events:
        try:
            accepted += push_events.apply(event)
        except RegistryError as error:
            # Not recorded (the manifest could not be read back). Any answer but a 2xx or 3xx
            # makes the registry send the events again, until one is taken (registry.config:
            # `backoff` apart after `threshold` failures); those applied already apply again
            # as no-ops.
            log.warning("registry event %s not recorded: %s", event.get("id"), error)
            return Response(
                {"error": f"Could not record the event: {error}. Send it again."},
                status=status.HTTP_503_SERVICE_UNAVAILABLE,
            )
    return Response(accepted_json(accepted))
