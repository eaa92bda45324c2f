"""Signing in with two-factor on: the password is the first step of the admin's sign-in and
nothing more; the code (or a recovery code) completes it once; API keys work as before."""

from __future__ import annotations

import base64

import pyotp
import pytest
from django.utils import timezone

from accounts import two_factor
from records.models import AuditEvent
from tests.fixtures.api import ApiClient

pytestmark = pytest.mark.django_db


def password_client(account) -> ApiClient:
    raw = f"{account.username}:{account.password}".encode()
    return ApiClient("Basic " + base64.b64encode(raw).decode())


@pytest.fixture
def with_two_factor(alice):
    setup = two_factor.begin(alice.user)
    codes = two_factor.confirm(alice.user, pyotp.TOTP(setup.secret).at(timezone.now()))
    alice.totp, alice.recovery_codes = pyotp.TOTP(setup.secret), codes
    # The code that confirmed it is spent: the next one to type is the next step's.
    alice.user.two_factor.__class__.objects.filter(user=alice.user).update(last_step=0)
    return alice


def test_the_password_asks_for_the_code_and_the_code_signs_in_once(with_two_factor):
    alice = with_two_factor

    asked = password_client(alice).post("/api/v1/session/")

    assert asked.status_code == 200, asked.content
    assert asked.json()["second_factor"] == "totp"
    challenge = asked.json()["challenge"]
    done = ApiClient().post("/api/v1/session/", {"challenge": challenge, "code": alice.totp.now()})
    assert done.status_code == 201, done.content
    session = ApiClient(f"ApiKey alice:{done.json()['key']}")
    assert session.get("/api/v1/account/").status_code == 200
    again = ApiClient().post("/api/v1/session/", {"challenge": challenge, "code": "000000"})
    assert again.status_code == 400
    assert "challenge" in again.json()["fields"]
    event = AuditEvent.objects.get(action="sign_in")
    assert event.details == {"method": "password and totp"}


def test_a_recovery_code_completes_a_sign_in_once(with_two_factor):
    alice = with_two_factor
    code = alice.recovery_codes[0]

    def sign_in():
        challenge = password_client(alice).post("/api/v1/session/").json()["challenge"]
        return ApiClient().post("/api/v1/session/", {"challenge": challenge, "code": code})

    assert sign_in().status_code == 201
    assert sign_in().status_code == 400
    assert two_factor.recovery_codes_left(alice.user) == 9


def test_five_wrong_codes_pause_the_second_step(with_two_factor):
    alice = with_two_factor
    challenge = password_client(alice).post("/api/v1/session/").json()["challenge"]
    wrong = f"{(int(alice.totp.now()) + 500_000) % 1_000_000:06d}"

    answers = [
        ApiClient().post("/api/v1/session/", {"challenge": challenge, "code": wrong}).status_code
        for _ in range(5)
    ]
    paused = ApiClient().post(
        "/api/v1/session/", {"challenge": challenge, "code": alice.totp.now()}
    )

    assert answers == [400] * 5
    assert paused.status_code == 429
    assert "recovery codes" in paused.json()["error"]


def test_a_password_alone_is_refused_by_the_api_and_says_to_use_an_api_key(with_two_factor):
    alice = with_two_factor

    for path in ("/api/v1/image/", "/api/v1/auth/", "/api/v1/account/"):
        refused = password_client(alice).get(path)
        assert refused.status_code == 401, path
        assert "Use an API key" in refused.json()["error"]
    assert ApiClient(alice.basic()).get("/api/v1/image/").status_code == 200


def test_a_tampered_or_missing_challenge_is_refused(with_two_factor):
    alice = with_two_factor
    challenge = password_client(alice).post("/api/v1/session/").json()["challenge"]

    tampered = ApiClient().post(
        "/api/v1/session/", {"challenge": challenge[:-2] + "xx", "code": alice.totp.now()}
    )
    nothing = ApiClient().post("/api/v1/session/", {})

    assert tampered.status_code == 400 and "challenge" in tampered.json()["fields"]
    assert nothing.status_code == 401


def test_without_two_factor_the_password_signs_in_at_once(alice):
    assert password_client(alice).post("/api/v1/session/").status_code == 201


def test_a_registry_login_with_the_password_is_refused_and_with_an_api_key_works(
    with_two_factor, settings
):
    alice = with_two_factor
    path = (
        f"/api/v1/registry-token/?service={settings.REGISTRY_TOKEN_SERVICE}"
        "&scope=repository:alice/app:push,pull"
    )

    refused = password_client(alice).get(path)
    granted = ApiClient(alice.basic()).get(path)

    assert refused.status_code == 401
    assert "Use an API key" in refused.content.decode()
    assert granted.status_code == 200


def test_setting_it_up_through_the_api_takes_a_code_and_gives_ten_recovery_codes(alice):
    api = ApiClient(alice.basic())
    assert api.get("/api/v1/account/two-factor/").json() == {
        "enabled": False,
        "recovery_codes_left": 0,
    }

    setup = api.post("/api/v1/account/two-factor/")
    totp = pyotp.TOTP(setup.json()["secret"])
    wrong = api.post("/api/v1/account/two-factor/confirm/", {"code": "12345"})
    confirmed = api.post("/api/v1/account/two-factor/confirm/", {"code": totp.now()})

    assert setup.status_code == 201
    assert setup.json()["uri"].startswith("otpauth://totp/")
    assert wrong.status_code == 400 and "code" in wrong.json()["fields"]
    assert confirmed.status_code == 200
    assert len(confirmed.json()["recovery_codes"]) == 10
    assert api.get("/api/v1/account/two-factor/").json() == {
        "enabled": True,
        "recovery_codes_left": 10,
    }
    assert api.post("/api/v1/account/two-factor/").status_code == 409
    assert AuditEvent.objects.filter(action="two_factor.on").count() == 1


def test_turning_it_off_needs_a_code_and_staff_can_reset_it(with_two_factor, make_account):
    alice = with_two_factor
    api = ApiClient(alice.basic())

    wrong = api.delete(
        "/api/v1/account/two-factor/", {"code": "000000"}, content_type="application/json"
    )
    assert wrong.status_code == 400 and "code" in wrong.json()["fields"]
    staff = ApiClient(make_account("root2", staff=True).basic())
    assert ApiClient(alice.basic()).delete("/api/v1/user/alice/two-factor/").status_code == 403
    assert staff.delete("/api/v1/user/alice/two-factor/").status_code == 204
    assert staff.delete("/api/v1/user/alice/two-factor/").status_code == 409

    assert not two_factor.is_on(alice.user)
    assert password_client(alice).post("/api/v1/session/").status_code == 201
    assert AuditEvent.objects.filter(action="two_factor.reset", target="alice").count() == 1


def test_new_recovery_codes_need_a_current_code_from_the_app(with_two_factor):
    alice = with_two_factor
    api = ApiClient(alice.basic())

    with_recovery = api.post(
        "/api/v1/account/two-factor/recovery-codes/", {"code": alice.recovery_codes[1]}
    )
    renewed = api.post("/api/v1/account/two-factor/recovery-codes/", {"code": alice.totp.now()})

    assert with_recovery.status_code == 400
    assert two_factor.recovery_codes_left(alice.user) == 10  # not spent by the refusal
    assert renewed.status_code == 200
    assert set(renewed.json()["recovery_codes"]).isdisjoint(alice.recovery_codes)


def test_a_recovery_code_turns_it_off(with_two_factor):
    alice = with_two_factor
    api = ApiClient(alice.basic())

    off = api.delete(
        "/api/v1/account/two-factor/",
        {"code": alice.recovery_codes[2]},
        content_type="application/json",
    )

    assert off.status_code == 204
    assert not two_factor.is_on(alice.user)
