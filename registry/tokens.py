"""The registry's token server: signing keys, libtrust key IDs, tokens and who may do what.

CNCF Distribution's token auth (checked against Debian's docker-registry 2.8.2): RS256 JWTs
whose `kid` header is the libtrust ID of the signing key, verified with the certificate the
registry config names as `rootcertbundle`.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import secrets
import time
from functools import cache

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from django.conf import settings
from django.core import signing

from records.models import Image, Role
from registry import names, writers
from registry.names import BIN_NAMESPACE
from teams import access
from teams.access import Ability

REPOSITORY_ACTIONS = ("pull", "push", "delete")
# What changes the registry's storage: garbage collection keeps clear of it (registry.writers).
WRITE_ACTIONS = ("push", "delete")
# The API's own calls to our registry; the registry's events name it as their actor.
SERVICE_SUBJECT = "tutumweb-api"
# Build workers log in to our registry as this user with a signed, expiring password that
# names the one repository the build may push to.
BUILD_USERNAME = "$build"
_BUILD_SALT = "tutumweb.registry.build-push"


def ensure_signing_key() -> None:
    """Create the RSA signing key and its self-signed certificate if they are missing."""
    key_path = settings.REGISTRY_TOKEN_KEY
    cert_path = key_path.with_suffix(".crt")
    if key_path.exists() and cert_path.exists():
        return
    key_path.parent.mkdir(parents=True, exist_ok=True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    key_path.touch(mode=0o600)
    key_path.write_bytes(pem)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, settings.REGISTRY_TOKEN_ISSUER)])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=3650))
        .sign(key, hashes.SHA256())
    )
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))


def key_id(public_key) -> str:
    """libtrust key ID: SHA-256 of the DER SubjectPublicKeyInfo, 30 bytes, base32, in 4s."""
    der = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    encoded = base64.b32encode(hashlib.sha256(der).digest()[:30]).decode()
    return ":".join(encoded[i : i + 4] for i in range(0, 48, 4))


@cache
def _signing_key(path: str):
    ensure_signing_key()
    key = serialization.load_pem_private_key(open(path, "rb").read(), password=None)  # noqa: SIM115
    return key, key_id(key.public_key())


def issue_token(subject: str, access: list[dict]) -> dict:
    key, kid = _signing_key(str(settings.REGISTRY_TOKEN_KEY))
    now = int(time.time())
    ttl = settings.REGISTRY_TOKEN_TTL
    writes = [
        entry["name"]
        for entry in access
        if entry.get("type") == "repository" and set(entry["actions"]) & set(WRITE_ACTIONS)
    ]
    if writes:
        writers.note(writes, dt.datetime.fromtimestamp(now + ttl, dt.UTC))
    claims = {
        "iss": settings.REGISTRY_TOKEN_ISSUER,
        "aud": settings.REGISTRY_TOKEN_SERVICE,
        "sub": subject,
        "iat": now,
        "nbf": now - 5,
        "exp": now + ttl,
        "jti": secrets.token_hex(16),
        "access": access,
    }
    token = jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})
    issued_at = dt.datetime.fromtimestamp(now, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"token": token, "access_token": token, "expires_in": ttl, "issued_at": issued_at}


def parse_scope(scope: str) -> tuple[str, str, list[str]] | None:
    """`repository:acc/app:pull,push` → ("repository", "acc/app", ["pull", "push"]).

    A repository scope must name a repository as the registry spells it: access is granted
    on the name as asked, so `dave/../alice/priv` is no scope at all (None)."""
    kind, sep, rest = scope.partition(":")
    name, sep2, actions = rest.rpartition(":")
    if not sep or not sep2 or not kind or not name:
        return None
    if kind == "repository" and not names.is_repository_path(name):
        return None
    return kind, name, [action for action in actions.split(",") if action]


def service_token(scopes: list[str]) -> str:
    """A token for the API's own calls to our registry, granting exactly `scopes`."""
    access = []
    for scope in scopes:
        parsed = parse_scope(scope)
        if parsed:
            kind, name, actions = parsed
            access.append({"type": kind, "name": name, "actions": actions})
    return issue_token(SERVICE_SUBJECT, access)["token"]


def build_credentials(repository: str, subject: str) -> tuple[str, str]:
    """Registry login for a build pushing to `repository` on behalf of `subject`."""
    password = signing.dumps({"repository": repository, "subject": subject}, salt=_BUILD_SALT)
    return BUILD_USERNAME, password


def build_grant(username: str, password: str) -> dict | None:
    """The repository and subject a build login stands for, or None if it is not one."""
    if username != BUILD_USERNAME:
        return None
    try:
        grant = signing.loads(password, salt=_BUILD_SALT, max_age=settings.BUILD_TIMEOUT + 600)
    except signing.BadSignature:
        return None
    return grant if isinstance(grant, dict) and grant.get("repository") else None


def build_access(grant: dict, scopes: list[str]) -> list[dict]:
    """A build may pull and push its own repository, nothing else."""
    access = []
    for scope in scopes:
        parsed = parse_scope(scope)
        if parsed is None or parsed[0] != "repository":
            continue
        _, name, actions = parsed
        allowed = ("pull", "push") if name == grant["repository"] else ()
        access.append(
            {"type": "repository", "name": name, "actions": [a for a in actions if a in allowed]}
        )
    return access


def _repository_actions(user, repository: str, wanted: list[str]) -> list[str]:
    """The same rule as the API's (teams.access): pull needs read, push and delete need write;
    a repository not yet registered may be pushed by the namespace's Writers.

    Nobody but the API deletes (a tag's deletion goes through the recycle bin, lifecycle.bin)
    or reaches the bin's repositories."""
    if repository.split("/")[0] == BIN_NAMESPACE:
        return []
    image = (
        Image.objects.filter(name=f"{settings.REGISTRY_HOST}/{repository}")
        .only("is_private_image", "owner_id", "team_id")
        .first()
    )
    if image is not None:
        abilities = access.abilities(user, image)
        may_pull, may_write = Ability.READ in abilities, Ability.WRITE in abilities
    elif "/" in repository:
        _, role = access.namespace_role(user, repository.split("/")[0])
        may_pull = may_write = access.at_least(role, Role.WRITER)
    else:
        may_pull = may_write = bool(user and user.is_staff)
    granted = []
    for action in wanted:
        if (action == "pull" and may_pull) or (action == "push" and may_write):
            granted.append(action)
    return granted


def granted_access(user, scopes: list[str]) -> list[dict]:
    """What `user` (None = anonymous; or a team access token, teams.tokens.TokenPrincipal,
    which teams.access keeps to its scope) may do of what `scopes` ask; unknown scopes are
    dropped."""
    access = []
    for scope in scopes:
        parsed = parse_scope(scope)
        if parsed is None:
            continue
        kind, name, actions = parsed
        if kind == "repository":
            wanted = [a for a in actions if a in REPOSITORY_ACTIONS]
            granted = _repository_actions(user, name, wanted)
        elif kind == "registry" and name == "catalog":
            granted = ["*"] if user is not None and user.is_staff and "*" in actions else []
        else:
            continue
        access.append({"type": kind, "name": name, "actions": granted})
    return access
