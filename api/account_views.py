"""Your account (extensions): API keys (Tutum had one each, from `/api/v1/auth/`), the web
admin's sign-ins, and your password."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.decorators import api_view
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from accounts import keys, passwords, profiles, sessions
from accounts.credentials import SignInsPaused
from api.core import formats
from api.core.auditing import note
from api.core.auth import Throttled
from api.core.dispatch import dispatch
from api.core.pagination import envelope_serializer, paginate
from api.core.schema import ERROR, PAGE_PARAMS
from api.serializers import (
    AccountPatchSerializer,
    AccountSerializer,
    ApiKeyCreateSerializer,
    ApiKeyPatchSerializer,
    ApiKeySerializer,
    NewApiKeySerializer,
    PasswordChangeSerializer,
    SessionSerializer,
)
from records.models import ApiKey
from teams import access

KEY_ID = OpenApiParameter("id", int, OpenApiParameter.PATH)


def apikey_json(api_key: ApiKey) -> dict:
    return {
        "id": api_key.pk,
        "resource_uri": formats.apikey_uri(api_key.pk),
        "label": api_key.label,
        "prefix": api_key.prefix,
        "created": formats.rfc2822(api_key.created),
        "last_used": formats.rfc2822(api_key.last_used),
        "expires": formats.rfc2822(api_key.expires),
        "is_expired": api_key.expires is not None and api_key.expires <= timezone.now(),
    }


@extend_schema(
    operation_id="apikeys_list",
    summary="List your API keys",
    parameters=PAGE_PARAMS,
    responses={
        200: envelope_serializer("ApiKeyList", ApiKeySerializer(many=True)),
        400: ERROR,
        401: ERROR,
    },
)
@api_view(["GET"])
def apikey_list_get(request):
    api_keys, meta = paginate(request, keys.keys_of(request.user))
    return Response({"meta": meta, "objects": [apikey_json(k) for k in api_keys]})


@extend_schema(
    operation_id="apikeys_create",
    summary="Make an API key (the answer is the only time it is shown)",
    request=ApiKeyCreateSerializer,
    responses={201: NewApiKeySerializer, 400: ERROR, 401: ERROR},
)
@api_view(["POST"])
def apikey_list_post(request):
    serializer = ApiKeyCreateSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    api_key, key = keys.issue_key(
        request.user,
        serializer.validated_data["label"],
        serializer.validated_data["expires_in_days"],
    )
    note(request, "apikey.create", api_key.label or api_key.prefix)
    body = {**apikey_json(api_key), "key": key}
    return Response(body, status=status.HTTP_201_CREATED, headers={"Cache-Control": "no-store"})


apikey_list = dispatch(get=apikey_list_get, post=apikey_list_post)


@extend_schema(
    operation_id="apikeys_retrieve",
    summary="Get one of your API keys",
    parameters=[KEY_ID],
    responses={200: ApiKeySerializer, 401: ERROR, 404: ERROR},
)
@api_view(["GET"])
def apikey_get(request, key_id: int):
    return Response(apikey_json(keys.get_key(request.user, key_id)))


@extend_schema(
    operation_id="apikeys_partial_update",
    summary="Rename one of your API keys",
    parameters=[KEY_ID],
    request=ApiKeyPatchSerializer,
    responses={200: ApiKeySerializer, 400: ERROR, 401: ERROR, 404: ERROR},
)
@api_view(["PATCH"])
def apikey_patch(request, key_id: int):
    api_key = keys.get_key(request.user, key_id)
    serializer = ApiKeyPatchSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    keys.rename_key(api_key, serializer.validated_data["label"])
    return Response(apikey_json(api_key))


@extend_schema(
    operation_id="apikeys_destroy",
    summary="Revoke one of your API keys: refused at once, everywhere",
    parameters=[KEY_ID],
    responses={204: None, 401: ERROR, 404: ERROR},
)
@api_view(["DELETE"])
def apikey_delete(request, key_id: int):
    api_key = keys.get_key(request.user, key_id)
    keys.revoke_key(api_key)
    note(request, "apikey.revoke", api_key.label or api_key.prefix)
    return Response(status=status.HTTP_204_NO_CONTENT)


apikey_detail = dispatch(get=apikey_get, patch=apikey_patch, delete=apikey_delete)


@extend_schema(
    methods=["POST"],
    operation_id="session_create",
    summary="Sign a browser in (the web admin): a credential ended at sign-out",
    description=(
        "Authenticate with `Basic base64(username:password)`. The answer's `key` works like an "
        "API key until it is ended (`DELETE` with it), the password changes, or "
        "SESSION_COOKIE_AGE passes; it is not listed among your API keys."
    ),
    request=None,
    responses={201: SessionSerializer, 400: ERROR, 401: ERROR, 429: ERROR},
)
@extend_schema(
    methods=["DELETE"],
    operation_id="session_destroy",
    summary="Sign this browser out: the credential sent is refused from now on",
    request=None,
    responses={204: None, 400: ERROR, 401: ERROR},
)
@api_view(["POST", "DELETE"])
def session(request):
    if request.method == "DELETE":
        if not sessions.is_session(request.auth):
            raise ValidationError(
                {"authorization": ["Send the sign-in's own credential to end it."]}
            )
        sessions.end_session(request.auth)
        return Response(status=status.HTTP_204_NO_CONTENT)
    if request.auth is not None:
        raise ValidationError({"authorization": ["Sign in with your password, not a key."]})
    api_key, key = sessions.start_session(request.user)
    note(request, "sign_in", request.user.get_username())
    body = {
        "key": key,
        "username": request.user.get_username(),
        "expires": formats.rfc2822(api_key.expires),
    }
    return Response(body, status=status.HTTP_201_CREATED, headers={"Cache-Control": "no-store"})


@extend_schema(
    operation_id="account_password",
    summary="Change your password; every other browser signed in as you is signed out",
    request=PasswordChangeSerializer,
    responses={
        200: inline_serializer("PasswordChanged", {"signed_out": serializers.IntegerField()}),
        400: ERROR,
        401: ERROR,
        429: ERROR,
    },
)
@api_view(["POST"])
def account_password(request):
    serializer = PasswordChangeSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    keep = request.auth if sessions.is_session(request.auth) else None
    try:
        ended = passwords.change_password(
            request._request,
            request.user,
            serializer.validated_data["current_password"],
            serializer.validated_data["new_password"],
            keep_session=keep,
        )
    except SignInsPaused as paused:
        raise Throttled(paused) from None
    note(request, "password.change", request.user.get_username(), signed_out=ended)
    return Response({"signed_out": ended})


def account_json(user) -> dict:
    profile = profiles.profile_of(user)
    user.refresh_from_db(fields=["email"])
    return {
        "resource_uri": f"{formats.API_PREFIX}/account/",
        "username": user.get_username(),
        "email": user.email,
        "display_name": profile.display_name,
        "is_staff": bool(user.is_staff),
        "github_login": profile.github_login,
        "has_github_token": bool(profile.github_token_encrypted),
        "namespaces": access.writable_namespaces(user),
    }


@extend_schema(
    methods=["GET"],
    operation_id="account_retrieve",
    summary="Your account",
    responses={200: AccountSerializer, 401: ERROR},
)
@extend_schema(
    methods=["PATCH"],
    operation_id="account_partial_update",
    summary="Change your email, display name or linked GitHub account",
    request=AccountPatchSerializer,
    responses={200: AccountSerializer, 400: ERROR, 401: ERROR},
)
@api_view(["GET", "PATCH"])
def account(request):
    if request.method == "PATCH":
        serializer = AccountPatchSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        profiles.update_profile(request.user, serializer.validated_data)
    return Response(account_json(request.user))
