"""Two-factor sign-in's codes: set up in two steps, a code accepted once, a clock a step off
forgiven, recovery codes spent one by one (accounts.two_factor)."""

from __future__ import annotations

from datetime import timedelta

import pyotp
import pytest
import time_machine
from django.utils import timezone

from accounts import two_factor
from lib.errors import Conflict, Invalid

pytestmark = pytest.mark.django_db


def code_at(secret: str, moment) -> str:
    return pyotp.TOTP(secret).at(moment)


def turned_on(user) -> tuple[str, list[str]]:
    setup = two_factor.begin(user)
    return setup.secret, two_factor.confirm(user, code_at(setup.secret, timezone.now()))


def test_it_is_on_only_once_a_code_from_the_app_confirms_it(alice):
    setup = two_factor.begin(alice.user)
    assert setup.uri.startswith("otpauth://totp/")
    assert not two_factor.is_on(alice.user)

    right = code_at(setup.secret, timezone.now())
    with pytest.raises(Invalid) as wrong:
        two_factor.confirm(alice.user, f"{(int(right) + 1) % 1_000_000:06d}")
    assert "code" in wrong.value.fields
    codes = two_factor.confirm(alice.user, code_at(setup.secret, timezone.now()))

    assert two_factor.is_on(alice.user)
    assert len(codes) == 10 and len(set(codes)) == 10


def test_a_code_passes_once_and_a_clock_one_step_off_is_forgiven(alice):
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        secret, _ = turned_on(alice.user)
        clock.shift(timedelta(seconds=60))
        now = timezone.now()
        late_phone = code_at(secret, now - timedelta(seconds=30))

        assert two_factor.check(alice.user, late_phone) == "totp"
        assert two_factor.check(alice.user, late_phone) == ""  # never the same code twice
        assert two_factor.check(alice.user, code_at(secret, now)) == "totp"
        assert two_factor.check(alice.user, code_at(secret, now - timedelta(minutes=5))) == ""


def test_a_recovery_code_works_once_however_it_is_typed(alice):
    _, codes = turned_on(alice.user)

    assert two_factor.check(alice.user, codes[3].upper().replace("-", " ")) == "recovery"
    assert two_factor.check(alice.user, codes[3]) == ""
    assert two_factor.recovery_codes_left(alice.user) == 9


def test_new_recovery_codes_end_the_old_ones(alice):
    _, old = turned_on(alice.user)

    new = two_factor.new_recovery_codes(alice.user)

    assert two_factor.check(alice.user, old[0]) == ""
    assert two_factor.check(alice.user, new[0]) == "recovery"


def test_setting_up_again_while_on_is_refused_and_turning_off_clears_it(alice):
    turned_on(alice.user)
    with pytest.raises(Conflict):
        two_factor.begin(alice.user)

    assert two_factor.turn_off(alice.user)
    assert not two_factor.is_on(alice.user)
    assert two_factor.check(alice.user, "123456") == ""


def test_the_secret_is_stored_encrypted(alice):
    setup = two_factor.begin(alice.user)

    stored = alice.user.two_factor.totp_secret_encrypted
    assert setup.secret not in stored
    assert alice.user.two_factor.totp_secret == setup.secret
