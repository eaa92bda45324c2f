"""Your account: Tutum's `/api/v1/auth/` (the API key for a username and password), and the
extensions: API keys (Tutum had one each, from `/auth/`), the web admin's sign-ins, your
password and your profile."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.decorators import api_view, authentication_classes, permission_classes
from rest_framework.exceptions import NotAuthenticated, PermissionDenied, ValidationError
from rest_framework.response import Response

from accounts import keys, passwords, profiles, sessions, two_factor
from accounts.credentials import SignInsPaused
from api.accounts.shapes import (
    AccountPatchSerializer,
    AccountSerializer,
    ApiKeyCreateSerializer,
    ApiKeyPatchSerializer,
    ApiKeySerializer,
    AuthKeySerializer,
    CodeSerializer,
    NewApiKeySerializer,
    PasswordChangedSerializer,
    PasswordChangeSerializer,
    RecoveryCodesSerializer,
    SecondFactorAskedSerializer,
    SecondStepSerializer,
    SessionSerializer,
    TwoFactorSetupSerializer,
    TwoFactorStateSerializer,
    account_json,
    apikey_json,
    auth_key_json,
    new_apikey_json,
    password_changed_json,
    second_factor_asked_json,
    session_json,
    two_factor_state_json,
)
from api.core.auditing import note
from api.core.auth import SECOND_STEP, PasswordSignIn, Throttled
from api.core.dispatch import dispatch
from api.core.pagination import envelope_serializer, paginate
from api.core.permissions import TeamTokensWhereAllowed
from api.core.schema import ERROR, PAGE_PARAMS
from lib.errors import Conflict
from records.models import ApiKey
from teams.tokens import TokenPrincipal

KEY_ID = OpenApiParameter("id", int, OpenApiParameter.PATH)
# Secrets are shown once: no cache keeps the answer that holds one.
NO_STORE = {"Cache-Control": "no-store"}


@extend_schema(
    operation_id="auth_retrieve",
    summary="Check credentials; exchange username and password for the API key",
    description=(
        "Authenticate with `Authorization: Basic base64(username:password)` to obtain the API "
        "key, or with an API key (Basic `username:apikey` or `ApiKey username:apikey`) to check "
        "it, as Tutum's CLI does before every command; the answer then names that key. After "
        "LOGIN_FAILURE_LIMIT wrong passwords for a username from one address, password sign-ins "
        "for it from there answer 429 with `Retry-After` until LOGIN_LOCKOUT_MINUTES have "
        "passed; API keys are never counted."
    ),
    responses={
        200: envelope_serializer("AuthList", AuthKeySerializer(many=True)),
        401: ERROR,
        429: ERROR,
    },
)
@api_view(["GET"])
def auth(request):
    key = request.auth.key if isinstance(request.auth, ApiKey) else ""
    if not key:
        api_key = keys.usable_keys_of(request.user).order_by("created", "pk").first()
        key = api_key.key if api_key is not None else ""
    if not key:
        # No key yet, or one encrypted under a key since rotated away: issue a fresh one.
        _, key = ApiKey.issue(request.user, label="API")
    meta = {"limit": 25, "next": None, "offset": 0, "previous": None, "total_count": 1}
    return Response({"meta": meta, "objects": [auth_key_json(key, request.user)]})


@extend_schema(
    operation_id="session_create",
    summary="Sign a browser in (the web admin): a credential ended at sign-out",
    description=(
        "Authenticate with `Basic base64(username:password)`. The answer's `key` works like an "
        "API key until it is ended (`DELETE` with it), the password changes, or "
        "SESSION_COOKIE_AGE passes; it is not listed among your API keys."
    ),
    request=SecondStepSerializer,
    responses={
        201: SessionSerializer,
        200: SecondFactorAskedSerializer,
        400: ERROR,
        401: ERROR,
        429: ERROR,
    },
)
@api_view(["POST"])
@authentication_classes([PasswordSignIn])
# No IsAuthenticated: the second step comes without Authorization (its challenge stands in).
@permission_classes([TeamTokensWhereAllowed])
def session_post(request):
    if request.auth is SECOND_STEP:
        challenge = sessions.second_factor_challenge(request.user)
        return Response(second_factor_asked_json(challenge), headers=NO_STORE)
    if not getattr(request.user, "is_authenticated", False):
        if "challenge" not in (request.data or {}):
            raise NotAuthenticated("Sign in with Basic base64(username:password).")
        step = SecondStepSerializer(data=request.data)
        step.is_valid(raise_exception=True)
        user, method = sessions.complete_second_factor(**step.validated_data)
        return _signed_in(request, user, f"password and {method}")
    if request.auth is not None:
        raise ValidationError({"authorization": ["Sign in with your password, not a key."]})
    return _signed_in(request, request.user, "password")


def _signed_in(request, user, method: str) -> Response:
    api_key, key = sessions.start_session(user)
    note(request, "sign_in", user.get_username(), actor=user, method=method)
    body = session_json(api_key, key, user)
    return Response(body, status=status.HTTP_201_CREATED, headers=NO_STORE)


@extend_schema(
    operation_id="session_destroy",
    summary="Sign this browser out: the credential sent is refused from now on",
    request=None,
    responses={204: None, 400: ERROR, 401: ERROR},
)
@api_view(["DELETE"])
def session_delete(request):
    if not sessions.is_session(request.auth):
        raise ValidationError({"authorization": ["Send the sign-in's own credential to end it."]})
    sessions.end_session(request.auth)
    return Response(status=status.HTTP_204_NO_CONTENT)


session = dispatch(post=session_post, delete=session_delete)


@extend_schema(
    operation_id="account_password",
    summary="Change your password; every other browser signed in as you is signed out",
    request=PasswordChangeSerializer,
    responses={200: PasswordChangedSerializer, 400: ERROR, 401: ERROR, 429: ERROR},
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
    return Response(password_changed_json(ended))


@extend_schema(
    operation_id="account_retrieve",
    summary="Your account",
    responses={200: AccountSerializer, 401: ERROR},
)
@api_view(["GET"])
def account_get(request):
    return Response(account_json(request.user))


@extend_schema(
    operation_id="account_partial_update",
    summary="Change your email, display name, linked GitHub account or email notifications",
    request=AccountPatchSerializer,
    responses={200: AccountSerializer, 400: ERROR, 401: ERROR},
)
@api_view(["PATCH"])
def account_patch(request):
    serializer = AccountPatchSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    profiles.update_profile(request.user, serializer.validated_data)
    return Response(account_json(request.user))


account = dispatch(get=account_get, patch=account_patch)


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
    body = new_apikey_json(api_key, key)
    return Response(body, status=status.HTTP_201_CREATED, headers=NO_STORE)


apikey_list = dispatch(get=apikey_list_get, post=apikey_list_post)


@extend_schema(
    operation_id="apikeys_retrieve",
    summary="Get one of your API keys",
    parameters=[KEY_ID],
    responses={200: ApiKeySerializer, 401: ERROR, 404: ERROR},
)
@api_view(["GET"])
def apikey_detail_get(request, key_id: int):
    return Response(apikey_json(keys.get_key(request.user, key_id)))


@extend_schema(
    operation_id="apikeys_partial_update",
    summary="Rename one of your API keys",
    parameters=[KEY_ID],
    request=ApiKeyPatchSerializer,
    responses={200: ApiKeySerializer, 400: ERROR, 401: ERROR, 404: ERROR},
)
@api_view(["PATCH"])
def apikey_detail_patch(request, key_id: int):
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
def apikey_detail_delete(request, key_id: int):
    api_key = keys.get_key(request.user, key_id)
    keys.revoke_key(api_key)
    note(request, "apikey.revoke", api_key.label or api_key.prefix)
    return Response(status=status.HTTP_204_NO_CONTENT)


apikey_detail = dispatch(
    get=apikey_detail_get, patch=apikey_detail_patch, delete=apikey_detail_delete
)


@extend_schema(
    operation_id="two_factor_retrieve",
    summary="Whether your sign-ins ask for a code from an authenticator app",
    responses={200: TwoFactorStateSerializer, 401: ERROR},
)
@api_view(["GET"])
def two_factor_get(request):
    user = _person(request)
    state = two_factor_state_json(two_factor.is_on(user), two_factor.recovery_codes_left(user))
    return Response(state)


@extend_schema(
    operation_id="two_factor_begin",
    summary="Start setting up two-factor sign-in: a secret for your app (on once confirmed)",
    request=None,
    responses={201: TwoFactorSetupSerializer, 401: ERROR, 409: ERROR},
)
@api_view(["POST"])
def two_factor_post(request):
    setup = two_factor.begin(_person(request))
    return Response(
        {"secret": setup.secret, "uri": setup.uri}, status=status.HTTP_201_CREATED, headers=NO_STORE
    )


@extend_schema(
    operation_id="two_factor_destroy",
    summary="Turn two-factor sign-in off, with a current code or a recovery code",
    request=CodeSerializer,
    responses={204: None, 400: ERROR, 401: ERROR, 409: ERROR},
)
@api_view(["DELETE"])
def two_factor_delete(request):
    user = _person(request)
    body = CodeSerializer(data=request.data)
    body.is_valid(raise_exception=True)
    if not two_factor.is_on(user):
        raise Conflict("Two-factor sign-in is not on.")
    two_factor.verify(user, body.validated_data["code"])
    two_factor.turn_off(user)
    note(request, "two_factor.off", user.get_username())
    return Response(status=status.HTTP_204_NO_CONTENT)


two_factor_view = dispatch(get=two_factor_get, post=two_factor_post, delete=two_factor_delete)


@extend_schema(
    operation_id="two_factor_confirm",
    summary="Turn two-factor sign-in on with a code from your app; the recovery codes, once",
    request=CodeSerializer,
    responses={200: RecoveryCodesSerializer, 400: ERROR, 401: ERROR, 409: ERROR},
)
@api_view(["POST"])
def two_factor_confirm(request):
    user = _person(request)
    body = CodeSerializer(data=request.data)
    body.is_valid(raise_exception=True)
    codes = two_factor.confirm(user, body.validated_data["code"])
    note(request, "two_factor.on", user.get_username())
    return Response({"recovery_codes": codes}, headers=NO_STORE)


@extend_schema(
    operation_id="two_factor_recovery_codes",
    summary="Ten new recovery codes (the old ones stop working), with a current code",
    request=CodeSerializer,
    responses={200: RecoveryCodesSerializer, 400: ERROR, 401: ERROR, 409: ERROR},
)
@api_view(["POST"])
def two_factor_recovery_codes(request):
    user = _person(request)
    body = CodeSerializer(data=request.data)
    body.is_valid(raise_exception=True)
    if not two_factor.is_on(user):
        raise Conflict("Two-factor sign-in is not on.")
    two_factor.verify(user, body.validated_data["code"], recovery=False)
    codes = two_factor.new_recovery_codes(user)
    note(request, "two_factor.recovery_codes", user.get_username())
    return Response({"recovery_codes": codes}, headers=NO_STORE)


def _person(request):
    if isinstance(request.user, TokenPrincipal):
        raise PermissionDenied("Team access tokens have no two-factor sign-in.")
    return request.user
