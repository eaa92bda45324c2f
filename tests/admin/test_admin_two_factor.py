"""Two-factor sign-in in the admin, against the live API: set up on Your account with a code,
recovery codes shown once, the sign-in asking for the code, a recovery code, turning it off."""

from __future__ import annotations

import re

import pyotp
import pytest

pytestmark = pytest.mark.django_db(transaction=True)


def secret_on(page: str) -> str:
    return re.search(r'name="secret" value="([A-Z2-7]+)"', page).group(1)


def test_setting_it_up_and_signing_in_with_a_code(signed_in, alice):
    client = signed_in
    account = client.get("/account/").content.decode()
    assert "Set up two-factor sign-in" in account

    setup = client.post("/account/two-factor/").content.decode()
    totp = pyotp.TOTP(secret_on(setup))
    assert "<svg" in setup
    uri = f"otpauth://totp/tutumweb:alice?secret={totp.secret}"
    wrong = client.post(
        "/account/two-factor/confirm/", {"code": "12ab", "secret": totp.secret, "uri": uri}
    )
    assert "Type the six digits" in wrong.content.decode()
    assert totp.secret in wrong.content.decode()  # the same key, to type again
    done = client.post(
        "/account/two-factor/confirm/", {"code": totp.now(), "secret": totp.secret, "uri": uri}
    )
    page = done.content.decode()
    assert "Two-factor sign-in is on" in page
    codes = re.findall(r"<li><code>([a-z2-9]{5}-[a-z2-9]{5})</code></li>", page)
    assert len(codes) == 10
    assert done["Cache-Control"] == "no-store"

    client.post("/logout/")
    asked = client.post("/login/", {"username": "alice", "password": alice.password})
    assert asked["Location"] == "/login/code/"
    bad = client.post("/login/code/", {"code": "000000"}).content.decode()
    assert "That code is not right" in bad
    signed_in = client.post("/login/code/", {"code": codes[0]})
    assert signed_in.status_code == 302 and signed_in["Location"] == "/"
    assert "9 recovery codes left" in client.get("/account/").content.decode()

    off = client.post("/account/two-factor/off/", {"code": codes[1]})
    assert off.status_code == 302
    assert "Set up two-factor sign-in" in client.get("/account/").content.decode()
