"""Whose credentials these are: API keys, passwords, and the pause after wrong passwords."""

from __future__ import annotations

import hmac
import re
from typing import TYPE_CHECKING

from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_client_ip_address
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth import authenticate, get_user_model
from django.core.cache import caches
from django.db import connection
from django.db.models import Max
from django.utils import timezone
from django.utils.crypto import salted_hmac

from accounts import two_factor
from records.models import ApiKey
from records.rows import from_row

if TYPE_CHECKING:
    from django.http import HttpRequest

API_KEY_SHAPE = re.compile(r"[0-9a-f]{40}")


def looks_like_api_key(secret: str) -> bool:
    """Our keys are 40 hex digits; a secret of that shape is only ever checked as a key, so a
    revoked key in a script is refused without counting as a wrong password."""
    return API_KEY_SHAPE.fullmatch(secret) is not None


def api_key_for(username: str, key: str) -> ApiKey | None:
    """The key `key` (with its active user) if `username` names its owner; None otherwise."""
    api_key = ApiKey.objects.find(key)
    if api_key is None or api_key.user.get_username() != username or not api_key.user.is_active:
        return None
    # Touch last_used at most once a minute so authentication stays a read on hot paths.
    now = timezone.now()
    if api_key.last_used is None or (now - api_key.last_used).total_seconds() > 60:
        ApiKey.objects.filter(pk=api_key.pk).update(last_used=now)
    return api_key


class SignInsPaused(Exception):
    """Too many wrong passwords for this username from this address (counted by django-axes)."""

    def __init__(self, username: str, retry_after: int):
        minutes = max(1, -(-retry_after // 60))
        super().__init__(
            f"Too many failed sign-ins for '{username}'. Try again in {minutes} minute"
            f"{'' if minutes == 1 else 's'}."
        )
        self.message = str(self)
        self.retry_after = retry_after


def user_for_password(request: HttpRequest, username: str, password: str):
    """The active user with this username and password; None if they don't match.

    Raises SignInsPaused once LOGIN_FAILURE_LIMIT wrong passwords for `username` came from the
    client's address within LOGIN_LOCKOUT_MINUTES: django-axes' backend, first in
    AUTHENTICATION_BACKENDS, counts them and then refuses before any password is checked.

    The CLI sends the password on every call, and PBKDF2 costs a few hundred milliseconds, so a
    correct check is remembered for PASSWORD_CHECK_CACHE_SECONDS (see `_remembered_user`).
    """
    user = _remembered_user(request, username, password)
    if user is not None:
        return user
    # Django's ModelBackend hashes for unknown users too, so they take as long as a wrong
    # password, and refuses inactive users.
    user = authenticate(request, username=username, password=password)
    if user is None and getattr(request, "axes_locked_out", False):
        raise SignInsPaused(username, seconds_left(request, username))
    if user is not None and settings.PASSWORD_CHECK_CACHE_SECONDS > 0:
        caches["password-checks"].set(
            _check_key(username, password),
            (user.pk, _hash_mark(user.password)),
            settings.PASSWORD_CHECK_CACHE_SECONDS,
        )
    return user


# An entry is keyed by an HMAC of username and password and holds an HMAC of the password
# hash, both under keys derived from SECRET_KEY: every process finds the checks of the others
# (REDIS_URL), and what the cache holds, in Redis or a process's memory, says nothing
# without SECRET_KEY: not the password, nor its hash.
_SALT = "accounts.credentials.password-check"


def _check_key(username: str, password: str) -> str:
    mac = salted_hmac(_SALT + ".key", f"{username}\0{password}", algorithm="sha256")
    return f"password-check:{mac.hexdigest()}"


def _hash_mark(password_hash: str) -> str:
    return salted_hmac(_SALT + ".hash", password_hash, algorithm="sha256").hexdigest()


def _remembered_user(request: HttpRequest, username: str, password: str):
    """The user of a recent correct check of exactly this username and password, if still valid.

    A wrong password has another key, so it is always checked (and counted). The entry holds a
    mark of the password hash it was checked against: a changed password no longer matches it,
    and the user is read again, so a deactivated user is refused at once. A pause for this
    username and address applies as it would to a full check.
    """
    if settings.PASSWORD_CHECK_CACHE_SECONDS <= 0:
        return None
    key = _check_key(username, password)
    remembered = caches["password-checks"].get(key)
    if remembered is None:
        return None
    user_id, hash_mark = remembered
    found = _user_and_recent_failures(request, user_id)
    if (
        found is None
        or found[0].get_username() != username
        or not hmac.compare_digest(_hash_mark(found[0].password), hash_mark)
    ):
        caches["password-checks"].delete(key)
        return None
    user, failures = found
    # django-axes decides; the count read with the user only spares asking it when nothing
    # could be paused (it costs more than the rest of the request's authentication).
    may_be_paused = failures >= settings.AXES_FAILURE_LIMIT or (
        settings.AXES_LOCKOUT_PARAMETERS != [["username", "ip_address"]]
    )
    if may_be_paused and AxesProxyHandler.is_locked(request, {"username": username}):
        raise SignInsPaused(username, seconds_left(request, username))
    return user


def _user_and_recent_failures(request: HttpRequest, user_id: int):
    """(active user, wrong passwords counted for them from this address within the pause
    time) in one plain SQL query, as for API keys (ApiKeyQuerySet.find); None if inactive."""
    User = get_user_model()
    fields = ("id", "username", "password", "is_active", "is_staff")
    sql = (
        f"SELECT {', '.join('u.' + field for field in fields)}, "
        f"(SELECT COALESCE(SUM(a.failures_since_start), 0) FROM {AccessAttempt._meta.db_table} a"
        f" WHERE a.username = u.username AND a.ip_address = %s AND a.attempt_time >= %s) "
        f"FROM {User._meta.db_table} u WHERE u.id = %s AND u.is_active"
    )
    since = connection.ops.adapt_datetimefield_value(timezone.now() - settings.AXES_COOLOFF_TIME)
    with connection.cursor() as cursor:
        cursor.execute(sql, [get_client_ip_address(request), since, user_id])
        row = cursor.fetchone()
    if row is None:
        return None
    return from_row(User, fields, row[:-1]), row[-1]


def seconds_left(request: HttpRequest, username: str) -> int:
    """Seconds until `username` may sign in again from this request's address."""
    latest = AccessAttempt.objects.filter(
        username=username, ip_address=request.axes_ip_address
    ).aggregate(latest=Max("attempt_time"))["latest"]
    ends = (latest or timezone.now()) + settings.AXES_COOLOFF_TIME
    return max(1, int((ends - timezone.now()).total_seconds()))


class SecondFactorNeeded(Exception):
    """The password is right and the person has two-factor sign-in on: a password alone signs
    in nowhere but the web admin's sign-in, which asks for the code next. API keys are the
    machine path (the `tutum` CLI, docker and buildah logins)."""

    def __init__(self, user):
        super().__init__(
            f"Two-factor sign-in is on for {user.get_username()}: a password alone is not "
            "enough here. Use an API key instead (make one on Your account, under API keys)."
        )
        self.user = user


def user_for_credentials(request: HttpRequest, scheme: str, username: str, secret: str):
    """(user, api_key) for an API key, (user, None) for a password, None if neither matches.

    The key is tried first and a key-shaped secret is never tried as a password, so neither a
    good nor a revoked key counts as a wrong password. Raises SignInsPaused (see
    `user_for_password`), and SecondFactorNeeded for the right password of a person with
    two-factor sign-in on.
    """
    api_key = api_key_for(username, secret)
    if api_key is not None:
        return api_key.user, api_key
    if _key_only(scheme, secret):
        return None
    user = user_for_password(request, username, secret)
    if user is None:
        return None
    if two_factor.is_on(user):
        raise SecondFactorNeeded(user)
    return user, None


def _key_only(scheme: str, secret: str) -> bool:
    return scheme == "apikey" or looks_like_api_key(secret)


def refusal_message(scheme: str, secret: str) -> str:
    if _key_only(scheme, secret):
        return "Invalid username or API key."
    return "Invalid username or password."
