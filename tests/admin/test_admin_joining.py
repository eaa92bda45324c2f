"""Joining through the web admin (over the live API): staff invite from People, the person
accepts and lands signed in on Getting started; open sign-up; "Forgot your password?"."""

from __future__ import annotations

import html
import re

import pytest
from django.conf import settings
from django.test import Client

from records.models import Invitation
from tests.fixtures.api import ApiClient

pytestmark = pytest.mark.django_db(transaction=True)
STRONG = "correct horse battery staple"
INVITE_LINK = re.compile(r'data-copy="(http[^"]+/invite/[^"]+/)" aria-label="Copy the invitation')


def text(response) -> str:
    return html.unescape(response.content.decode())


def path_of(link: str) -> str:
    return "/" + link.split("/", 3)[3]


def join(path: str, username="dana", password=STRONG, **extra) -> tuple[Client, object]:
    browser = Client()
    body = {
        "username": username,
        "new_password": password,
        "new_password_again": password,
        **extra,
    }
    return browser, browser.post(path, body)


def test_staff_invite_and_the_person_lands_signed_in_on_getting_started(staff_browser, mailbox):
    made = staff_browser.post("/people/invite/", {"email": "dana@example.test"})
    page = text(made)
    emailed = mailbox.link(mailbox.wait_for("dana@example.test")[0])
    listing = text(staff_browser.get("/people/"))

    assert made["Cache-Control"] == "no-store"
    assert "dana@example.test is invited" in page
    assert "We emailed the link to dana@example.test." in page
    shown = INVITE_LINK.search(made.content.decode()).group(1)
    assert emailed.startswith(settings.ADMIN_PUBLIC_URL + "/invite/")
    assert shown.startswith(settings.ADMIN_PUBLIC_URL + "/invite/")
    assert path_of(emailed) == path_of(shown)
    assert "Waiting to join" in listing and "dana@example.test" in listing
    assert "<title>People · tutumweb</title>" in listing
    assert listing.count('id="invite-heading"') == 1

    form = text(Client().get(path_of(shown)))
    browser, joined = join(path_of(shown), display_name="Dana")

    assert "root invited you as <strong>dana@example.test</strong>" in form
    assert joined.status_code == 302 and joined["Location"] == "/getting-started/"
    welcome = text(browser.get("/getting-started/"))
    assert "Welcome, dana! Your account is ready." in welcome
    assert "Waiting to join" not in text(staff_browser.get("/people/"))
    used = Client().get(path_of(shown))
    assert used.status_code == 400
    assert "This invitation was already used." in text(used)


def test_without_email_staff_get_the_link_to_hand_over(staff_browser):
    page = text(staff_browser.post("/people/invite/", {"email": "dana@example.test"}))

    assert "We didn't email it: email is not set up here." in page
    assert INVITE_LINK.search(page)


def test_an_invitation_refused_by_the_api_says_why_on_the_field(staff_browser, alice):
    alice_email = ApiClient(alice.basic()).patch("/api/v1/account/", {"email": "a@example.test"})
    assert alice_email.status_code == 200

    refused = staff_browser.post("/people/invite/", {"email": "a@example.test"})
    not_an_address = staff_browser.post("/people/invite/", {"email": "alice"})

    assert refused.status_code == not_an_address.status_code == 400
    assert "alice already uses this address." in text(refused)
    assert "Enter a valid email address." in text(not_an_address)


def test_send_again_replaces_the_link_and_cancel_ends_it(staff_browser):
    first = INVITE_LINK.search(
        staff_browser.post("/people/invite/", {"email": "dana@example.test"}).content.decode()
    ).group(1)
    invitation_id = Invitation.objects.get().pk

    again = staff_browser.post(f"/people/invitations/{invitation_id}/resend/")
    second = INVITE_LINK.search(again.content.decode()).group(1)
    replaced = Client().get(path_of(first))

    assert second != first
    assert "a newer one was sent" in text(replaced)
    cancelled = staff_browser.post(
        f"/people/invitations/{invitation_id}/cancel/", {"email": "dana@example.test"}, follow=True
    )
    assert "The invitation to dana@example.test is cancelled" in text(cancelled)
    assert "it was cancelled" in text(Client().get(path_of(second)))


def test_accepting_with_a_weak_password_or_a_taken_name_keeps_the_link(staff_browser, alice):
    link = path_of(
        INVITE_LINK.search(
            staff_browser.post("/people/invite/", {"email": "dana@example.test"}).content.decode()
        ).group(1)
    )

    _, weak = join(link, password="12345678")
    _, taken = join(link, username="alice")
    _, mismatch = join(link, new_password_again="something else")

    assert weak.status_code == taken.status_code == mismatch.status_code == 200
    assert "This password is entirely numeric." in text(weak)
    assert "Someone here already has this username." in text(taken)
    assert "The two new passwords are not the same." in text(mismatch)
    _, joined = join(link)
    assert joined.status_code == 302


def test_invitations_are_for_staff_only_whatever_the_links_show(signed_in):
    refused = signed_in.post("/people/invite/", {"email": "eve@example.test"})

    assert refused.status_code == 403
    assert "Only staff can manage people." in text(refused)


def test_sign_up_when_it_is_open_lands_on_getting_started(api_server, settings):
    assert "Create an account" not in text(Client().get("/login/"))
    assert Client().get("/signup/").status_code == 404

    settings.ALLOW_SIGNUP = True
    browser = Client()
    assert 'href="/signup/"' in text(browser.get("/login/"))
    joined = browser.post(
        "/signup/",
        {
            "username": "eve",
            "email": "eve@example.test",
            "new_password": STRONG,
            "new_password_again": STRONG,
        },
    )

    assert joined.status_code == 302 and joined["Location"] == "/getting-started/"
    assert "Welcome, eve!" in text(browser.get("/getting-started/"))


def test_forgot_password_emails_a_link_and_says_the_same_for_any_address(
    api_server, alice, mailbox
):
    ApiClient(alice.basic()).patch("/api/v1/account/", {"email": "alice@example.test"})
    assert 'href="/forgot-password/"' in text(Client().get("/login/"))

    known = text(Client().post("/forgot-password/", {"email": "alice@example.test"}))
    unknown = text(Client().post("/forgot-password/", {"email": "nobody@example.test"}))

    said = "If that address belongs to someone here, a link to choose a new password"
    assert said in known and said in unknown
    link = path_of(mailbox.link(mailbox.wait_for("alice@example.test")[0]))
    new = "A-brand-new-Passw0rd"
    done = Client().post(link, {"new_password": new, "new_password_again": new}, follow=True)
    assert "Your password is set, alice." in text(done)
    assert "This link has expired or was already used." in text(
        Client().post(link, {"new_password": new, "new_password_again": new})
    )


def test_without_email_forgot_password_says_to_ask_staff(api_server):
    page = text(Client().get("/forgot-password/"))

    assert "ask a staff member here" in page
    assert "Email me a link" not in page
