"""`/api/v1/auth/`: Tutum's credential check (api-people moves it to api/accounts)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.decorators import api_view
from rest_framework.response import Response

from accounts import keys
from api.core.pagination import envelope_serializer
from api.core.schema import ERROR
from api.serializers import AuthKeySerializer
from records.models import ApiKey


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
    return Response(
        {"meta": meta, "objects": [{"key": key, "username": request.user.get_username()}]}
    )
