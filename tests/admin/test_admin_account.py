"""Your account page in the web admin: API keys made, shown once, and revoked, over the API."""

from __future__ import annotations

import html
import re

import pytest
from django.conf import settings
from django.test import Client

from lib import crypto
from records.models import ApiKey
from tests.fixtures.api import ApiClient

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


def test_the_header_links_to_your_account_and_it_lists_your_keys(signed_in, alice):
    home = text(signed_in.get("/"))
    page = text(signed_in.get("/account/"))

    assert 'href="/account/">Your account</a>' in home
    assert "API keys" in page and alice.key[:8] in page
    # The browser's own sign-in is not one of the keys the person manages.
    assert "this browser" not in page


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
    assert ApiKey.objects.filter(user=alice.user, kind="key").count() == 1


def test_an_unknown_expiry_is_refused_on_the_form(signed_in, alice):
    response = signed_in.post("/account/keys/", {"label": "ci", "expires": "7"})

    assert "Select a valid choice" in text(response)
    assert ApiKey.objects.filter(user=alice.user, kind="key").count() == 1


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


def test_revoking_the_key_a_browser_signed_in_with_signs_it_out(signed_in, alice):
    # Sign-ins from before per-browser credentials, or on another Tutum server, hold the key
    # that /api/v1/auth/ hands out.
    session = signed_in.session
    session["tutum_api"] = {"username": "alice", "key_encrypted": crypto.encrypt(alice.key)}
    session.save()
    own = ApiKey.objects.get(user=alice.user, kind="key")

    confirm = text(signed_in.get(f"/account/keys/{own.pk}/revoke/"))
    revoked = signed_in.post(f"/account/keys/{own.pk}/revoke/", follow=True)

    assert "This browser is signed in with this key" in confirm
    assert revoked.redirect_chain[-1][0] == "/login/"
    assert "sign in again" in text(revoked)
    assert signed_in.get("/account/").status_code == 302


def signed_in_key(client) -> str:
    return crypto.decrypt(client.session["tutum_api"]["key_encrypted"])


def test_signing_out_ends_the_browsers_sign_in_on_the_api(signed_in, alice):
    key = signed_in_key(signed_in)
    assert ApiClient(alice.basic(key)).get("/api/v1/image/").status_code == 200

    signed_in.post("/logout/")

    assert ApiClient(alice.basic(key)).get("/api/v1/image/").status_code == 401


def test_changing_the_password_signs_out_other_browsers_and_keeps_this_one(
    api_server, signed_in, alice
):
    other = Client()
    other.post("/login/", {"username": "alice", "password": alice.password})
    assert other.get("/account/").status_code == 200
    new = "A-brand-new-Passw0rd"

    response = signed_in.post(
        "/account/password/",
        {"current_password": alice.password, "new_password": new, "new_password_again": new},
        follow=True,
    )

    assert "Your password is changed. 1 other browser was signed out." in text(response)
    assert signed_in.get("/account/").status_code == 200
    assert other.get("/account/").status_code == 302
    assert ApiClient(alice.basic()).get("/api/v1/image/").status_code == 200  # keys stay
    assert Client().post("/login/", {"username": "alice", "password": new}).status_code == 302


@pytest.mark.parametrize(
    "current, new, again, message",
    [
        ("wrong", "A-brand-new-Passw0rd", "A-brand-new-Passw0rd", "not your current password"),
        (None, "short", "short", "too short"),
        (None, "password123", "password123", "too common"),
        (None, "A-brand-new-Passw0rd", "Another-Passw0rd", "are not the same"),
    ],
)
def test_a_password_change_that_cannot_be_made_says_why(
    signed_in, alice, current, new, again, message
):
    response = signed_in.post(
        "/account/password/",
        {
            "current_password": current or alice.password,
            "new_password": new,
            "new_password_again": again,
        },
    )

    assert response.status_code == 200
    assert message in text(response)
    still = Client().post("/login/", {"username": "alice", "password": alice.password})
    assert still.status_code == 302  # the old password still works


def test_another_persons_key_cannot_be_revoked(signed_in, bob):
    bobs = ApiKey.objects.get(user=bob.user)

    page = signed_in.get(f"/account/keys/{bobs.pk}/revoke/")
    post = signed_in.post(f"/account/keys/{bobs.pk}/revoke/")

    assert page.status_code == post.status_code == 404
    assert ApiKey.objects.filter(pk=bobs.pk).exists()


def test_the_profile_is_saved_and_shown(signed_in, alice):
    saved = signed_in.post(
        "/account/profile/",
        {"display_name": "Alice Liddell", "email": "alice@example.com"},
        follow=True,
    )

    page = text(saved)
    assert "Your profile is saved." in page
    assert "(Alice Liddell)" in page and 'value="alice@example.com"' in page
    assert ApiClient(alice.basic()).get("/api/v1/account/").json()["email"] == "alice@example.com"


@pytest.mark.parametrize(
    "email, message",
    [("not an address", "Enter a valid email address."), ("bob@example.com", "already uses")],
)
def test_a_profile_that_cannot_be_saved_says_why_on_the_field(signed_in, bob, email, message):
    ApiClient(bob.basic()).patch("/api/v1/account/", {"email": "bob@example.com"})

    response = signed_in.post("/account/profile/", {"display_name": "", "email": email})

    assert response.status_code == 200
    assert message in text(response)
    assert "Your profile is saved." not in text(response)


def test_the_github_token_is_stored_never_shown_and_can_be_forgotten(signed_in, alice):
    saved = text(
        signed_in.post(
            "/account/github/",
            {"github_login": "alice-gh", "github_token": "ghp_page-token"},
            follow=True,
        )
    )
    forgotten = text(
        signed_in.post(
            "/account/github/", {"github_login": "alice-gh", "forget_token": "on"}, follow=True
        )
    )

    assert "Your GitHub account is saved." in saved
    assert "A token is stored for private repositories." in saved
    assert "ghp_page-token" not in saved and 'value="alice-gh"' in saved
    assert "No token stored" in forgotten


def test_a_github_username_that_cannot_be_one_is_refused_on_the_field(signed_in):
    response = signed_in.post("/account/github/", {"github_login": "no spaces allowed"})

    assert "A GitHub username is letters, digits and single hyphens" in text(response)


def test_staff_see_people_and_deactivate_after_confirming(staff_browser, alice):
    listing = text(staff_browser.get("/people/"))
    confirm = text(staff_browser.get("/people/alice/deactivate/"))
    done = text(staff_browser.post("/people/alice/deactivate/", follow=True))

    assert 'href="/people/">People</a>' in listing and "alice" in listing
    assert "Deactivate alice?" in confirm
    assert "alice is deactivated" in done and "Deactivated" in done
    assert ApiClient(alice.basic()).get("/api/v1/image/").status_code == 401
    assert (
        Client().post("/login/", {"username": "alice", "password": alice.password}).status_code
        == 200
    )

    back = text(staff_browser.post("/people/alice/reactivate/", follow=True))
    assert "alice can sign in again" in back
    assert ApiClient(alice.basic()).get("/api/v1/image/").status_code == 200


def test_a_deactivated_persons_open_admin_session_ends_at_once(staff_browser, signed_in):
    assert signed_in.get("/account/").status_code == 200

    staff_browser.post("/people/alice/deactivate/")

    assert signed_in.get("/account/").status_code == 302


def test_staff_make_someone_staff_and_cannot_remove_their_own(staff_browser, alice):
    made = text(staff_browser.post("/people/alice/make-staff/", follow=True))
    own = text(staff_browser.post("/people/root/remove-staff/", follow=True))

    assert "alice is staff now." in made
    assert "You can't remove your own staff rights" in own


def test_people_is_for_staff_only_whatever_the_links_show(signed_in, bob):
    listing = signed_in.get("/people/")
    change = signed_in.post("/people/bob/deactivate/")

    assert listing.status_code == change.status_code == 403
    assert "Only staff can manage people." in text(listing)
    assert 'href="/people/"' not in text(signed_in.get("/"))
    assert ApiClient(bob.basic()).get("/api/v1/image/").status_code == 200


def test_staff_hand_over_a_reset_link_that_works_once(staff_browser, alice):
    made = staff_browser.post("/people/alice/reset-link/")
    link = re.search(r'data-copy="(http[^"]+/reset/[^"]+)"', made.content.decode()).group(1)
    # Built from ADMIN_PUBLIC_URL, never from the Host the request named.
    assert link.startswith(settings.ADMIN_PUBLIC_URL + "/reset/")
    path = link.removeprefix(settings.ADMIN_PUBLIC_URL)
    new = "A-brand-new-Passw0rd"
    stranger = Client()

    form = text(stranger.get(path))
    done = stranger.post(path, {"new_password": new, "new_password_again": new}, follow=True)
    reused = stranger.post(path, {"new_password": new, "new_password_again": new})

    assert made["Cache-Control"] == "no-store"
    assert "A password reset link for alice" in text(made)
    assert "Choose a new password" in form
    assert "Your password is set, alice. Sign in with it now." in text(done)
    assert "This link has expired or was already used." in text(reused)
    assert Client().post("/login/", {"username": "alice", "password": new}).status_code == 302
