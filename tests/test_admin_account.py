"""Your account page in the web admin: API keys made, shown once, and revoked, over the API."""

from __future__ import annotations

import html
import re

import pytest
from django.conf import settings

from records.models import ApiKey
from tests.fixtures_api import ApiClient

pytestmark = pytest.mark.django_db(transaction=True)
KEY_LINE = re.compile(r'data-copy="([0-9a-f]{40})" aria-label="Copy the API key"')


def text(response) -> str:
    return html.unescape(response.content.decode())


def make_key(client, label: str, expires: str = "") -> str:
    response = client.post("/account/keys/", {"label": label, "expires": expires}, follow=True)
    assert response.status_code == 200
    match = KEY_LINE.search(response.content.decode())
    assert match, text(response)[:2000]
    return match.group(1)


def test_the_header_links_to_your_account_and_it_lists_your_keys(signed_in):
    home = text(signed_in.get("/"))
    page = text(signed_in.get("/account/"))

    assert 'href="/account/">Your account</a>' in home
    assert "API keys" in page
    assert "this browser" in page  # the key the admin signed in with


def test_a_new_key_is_shown_once_with_the_commands_that_use_it(signed_in, alice, our_registry_row):
    response = signed_in.post("/account/keys/", {"label": "laptop", "expires": "30"}, follow=True)
    page = text(response)
    key = KEY_LINE.search(response.content.decode()).group(1)

    assert response["Cache-Control"] == "no-store"
    assert "Copy it now: this is the only time it is shown." in page
    assert f"buildah login --tls-verify=false -u alice -p {key} {settings.REGISTRY_HOST}" in page
    assert f"echo '{key}' | docker login -u alice --password-stdin {settings.REGISTRY_HOST}" in page
    assert f"export TUTUM_USER=alice TUTUM_APIKEY={key} TUTUM_REST_HOST=" in page
    assert ApiClient(alice.basic(key)).get("/api/v1/image/").status_code == 200
    again = text(signed_in.get("/account/"))
    assert key not in again
    assert "laptop" in again and key[:8] in again


def test_a_label_that_is_too_long_is_refused_on_the_form(signed_in, alice):
    response = signed_in.post("/account/keys/", {"label": "x" * 101, "expires": ""})

    assert response.status_code == 200
    assert "Ensure this value has at most 100 characters" in text(response)
    assert ApiKey.objects.filter(user=alice.user).count() == 1


def test_an_unknown_expiry_is_refused_on_the_form(signed_in, alice):
    response = signed_in.post("/account/keys/", {"label": "ci", "expires": "7"})

    assert "Select a valid choice" in text(response)
    assert ApiKey.objects.filter(user=alice.user).count() == 1


def test_revoking_asks_first_then_the_key_is_refused_at_once(signed_in, alice):
    key = make_key(signed_in, "nightly job")
    made = ApiKey.objects.get(user=alice.user, label="nightly job")

    confirm = text(signed_in.get(f"/account/keys/{made.pk}/revoke/"))
    revoked = signed_in.post(f"/account/keys/{made.pk}/revoke/", follow=True)

    assert "Revoke “nightly job”?" in confirm and key[:8] in confirm
    assert "This browser is signed in with this key" not in confirm
    assert "Key “nightly job” is revoked" in text(revoked)
    assert ApiClient(alice.basic(key)).get("/api/v1/image/").status_code == 401
    assert "nightly job" not in text(signed_in.get("/account/"))


def test_revoking_the_key_this_browser_uses_signs_it_out(signed_in, alice):
    own = ApiKey.objects.get(user=alice.user)

    confirm = text(signed_in.get(f"/account/keys/{own.pk}/revoke/"))
    revoked = signed_in.post(f"/account/keys/{own.pk}/revoke/", follow=True)

    assert "This browser is signed in with this key" in confirm
    assert revoked.redirect_chain[-1][0] == "/login/"
    assert "sign in again" in text(revoked)
    assert signed_in.get("/account/").status_code == 302


def test_another_persons_key_cannot_be_revoked(signed_in, bob):
    bobs = ApiKey.objects.get(user=bob.user)

    page = signed_in.get(f"/account/keys/{bobs.pk}/revoke/")
    post = signed_in.post(f"/account/keys/{bobs.pk}/revoke/")

    assert page.status_code == post.status_code == 404
    assert ApiKey.objects.filter(pk=bobs.pk).exists()
