"""Two-factor sign-in with an authenticator app (TOTP, RFC 6238, by pyotp) and single-use
recovery codes.

Setting it up is two steps: `begin` makes a secret (shown as a QR code and as text to type) and
`confirm` turns it on once the person types a code from their app, so nobody is locked out by a
secret their app never took. Then `check` accepts a current code once (the step before and
after too, for clocks a little apart; never the same step twice) or an unused recovery code,
which it spends. With two-factor on, a password alone no longer signs in anywhere but the
sign-in's own second step: API keys are the machine path (see accounts.credentials).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import pyotp
from django.conf import settings
from django.core.cache import caches
from django.db import transaction
from django.utils import timezone

from lib import crypto
from lib.errors import Conflict, Invalid, TooManyTries
from records.models import TwoFactor

RECOVERY_CODES = 10
# Wrong codes one person may type in PAUSE_SECONDS, wherever (the sign-in's second step,
# turning it off, new recovery codes): six digits are a guess in a million a try.
WRONG_CODES = 5
PAUSE_SECONDS = 300
# Codes of the step before and after the current one pass too: phones' clocks drift.
VALID_WINDOW = 1
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read off paper


@dataclass(frozen=True)
class Setup:
    """What a person needs to add the account to their app."""

    secret: str
    uri: str  # otpauth://totp/...: what the QR code holds


def is_on(user) -> bool:
    return TwoFactor.objects.filter(user_id=user.pk, confirmed__isnull=False).exists()


def begin(user) -> Setup:
    """A new secret for `user`, not yet on (replacing one never confirmed)."""
    if is_on(user):
        raise Conflict("Two-factor sign-in is already on: turn it off first to start again.")
    secret = pyotp.random_base32()
    TwoFactor.objects.update_or_create(
        user=user,
        defaults={"totp_secret_encrypted": crypto.encrypt(secret), "last_step": 0},
    )
    return Setup(secret, _uri(user, secret))


def _uri(user, secret: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(
        name=user.get_username(), issuer_name=settings.SITE_NAME
    )


def confirm(user, code: str) -> list[str]:
    """Turn two-factor on with a code from the app; returns the recovery codes, shown once."""
    with transaction.atomic():
        row = TwoFactor.objects.select_for_update().filter(user_id=user.pk).first()
        if row is None or row.confirmed is not None:
            raise Conflict("Start setting up two-factor sign-in first.")
        step = _matching_step(row, code)
        if step is None:
            raise Invalid({"code": [_WRONG_CODE]})
        codes = _new_recovery_codes()
        row.confirmed, row.last_step = timezone.now(), step
        row.recovery_hashes = [crypto.digest(_plain(c)) for c in codes]
        row.save()
    return codes


_WRONG_CODE = (
    "That code is not the one your app shows now. Type the six digits it shows (they change "
    "every 30 seconds); if it keeps failing, check that your phone's clock is right."
)


def check(user, code: str, *, recovery: bool = True) -> str:
    """The kind of code that passed, "totp" or "recovery" (a recovery code is spent then), or
    "" when none did. Without `recovery`, only a code from the app passes."""
    with transaction.atomic():
        row = (
            TwoFactor.objects.select_for_update()
            .filter(user_id=user.pk, confirmed__isnull=False)
            .first()
        )
        if row is None:
            return ""
        step = _matching_step(row, code)
        if step is not None:
            row.last_step = step
            row.save(update_fields=["last_step"])
            return "totp"
        hashed = crypto.digest(_plain(code))
        if recovery and hashed in row.recovery_hashes:
            row.recovery_hashes = [h for h in row.recovery_hashes if h != hashed]
            row.save(update_fields=["recovery_hashes"])
            return "recovery"
    return ""


def check_counted(user, code: str, *, recovery: bool = True) -> str:
    """`check`, with wrong codes counted: after WRONG_CODES in PAUSE_SECONDS, TooManyTries
    until the pause ends (a right code clears the count)."""
    cache, key = caches["rate-limits"], f"second-factor-wrong:{user.pk}"
    if (cache.get(key) or 0) >= WRONG_CODES:
        raise TooManyTries(
            f"{WRONG_CODES} wrong codes in a row: wait {PAUSE_SECONDS // 60} minutes, then try "
            "again. Lost your phone? Use one of your recovery codes.",
            retry_after=PAUSE_SECONDS,
        )
    method = check(user, code, recovery=recovery)
    if method:
        cache.delete(key)
    else:
        cache.add(key, 0, PAUSE_SECONDS)
        cache.incr(key)
    return method


NOT_RIGHT = (
    "That code is not right: type the six digits your authenticator app shows now, or one of "
    "your recovery codes."
)
APP_CODE_ONLY = "Type the six digits your authenticator app shows now."


def verify(user, code: str, *, recovery: bool = True) -> str:
    """`check_counted`, raising Invalid naming `code` when it does not pass."""
    method = check_counted(user, code, recovery=recovery)
    if not method:
        raise Invalid({"code": [NOT_RIGHT if recovery else APP_CODE_ONLY]})
    return method


def _matching_step(row: TwoFactor, code: str) -> int | None:
    """The time step whose code `code` is, if it is one of the window's and newer than the
    last one accepted."""
    code = "".join(code.split())
    if not (code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(row.totp_secret)
    now = timezone.now()
    current = totp.timecode(now)
    for offset in range(-VALID_WINDOW, VALID_WINDOW + 1):
        step = current + offset
        if step > row.last_step and secrets.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def recovery_codes_left(user) -> int:
    row = TwoFactor.objects.filter(user_id=user.pk, confirmed__isnull=False).first()
    return len(row.recovery_hashes) if row else 0


def new_recovery_codes(user) -> list[str]:
    """Ten new recovery codes; the old ones stop working."""
    codes = _new_recovery_codes()
    changed = TwoFactor.objects.filter(user_id=user.pk, confirmed__isnull=False).update(
        recovery_hashes=[crypto.digest(_plain(c)) for c in codes]
    )
    if not changed:
        raise Conflict("Two-factor sign-in is not on.")
    return codes


def turn_off(user) -> bool:
    """Two-factor off (by the person, or reset by staff); whether it was on."""
    return TwoFactor.objects.filter(user_id=user.pk).delete()[0] > 0


def _new_recovery_codes() -> list[str]:
    return [
        "-".join("".join(secrets.choice(_ALPHABET) for _ in range(5)) for _ in range(2))
        for _ in range(RECOVERY_CODES)
    ]


def _plain(code: str) -> str:
    """A recovery code as typed: any case, spaces or dashes."""
    return "".join(ch for ch in code.lower() if ch.isalnum())
