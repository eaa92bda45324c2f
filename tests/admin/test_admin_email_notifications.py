"""Your account's "Email me when…" in the web admin, over the API: the boxes, saved with and
without htmx, and what the page says when no email can arrive."""

from __future__ import annotations

import html
import re

import pytest

from tests.fixtures.api import ApiClient

pytestmark = pytest.mark.django_db(transaction=True)
LABELS = {
    "build_failed": "A build I started failed",
    "build_fixed": "A build I started succeeded after the tag's previous build failed",
    "invitation_accepted": "Someone accepted an invitation I sent",
    "webhook_paused": "A webhook I manage was paused because it kept failing",
}
NO_EMAIL = "This server sends no email: ask your administrator to set it up."
NO_ADDRESS = "You have no email address yet: add one to your profile to get these."


def text(response) -> str:
    return html.unescape(response.content.decode())


def ticked(page: str) -> dict[str, bool]:
    """Each box of the section and whether it is ticked, by its name."""
    boxes = re.findall(r'<input type="checkbox" name="(\w+)"([^>]*)>', page)
    return {name: "checked" in rest for name, rest in boxes}


def test_the_account_page_shows_every_box_ticked_with_its_words(signed_in, settings):
    settings.EMAIL_ENABLED = True

    page = text(signed_in.get("/account/"))

    assert "Email me when…" in page
    assert ticked(page) == dict.fromkeys(LABELS, True)
    assert all(label in page for label in LABELS.values())
    assert NO_ADDRESS in page and NO_EMAIL not in page


def test_unticked_boxes_are_saved_and_shown_without_javascript(signed_in, alice, settings):
    settings.EMAIL_ENABLED = True
    ApiClient(alice.basic()).patch("/api/v1/account/", {"email": "alice@example.com"})

    saved = signed_in.post(
        "/account/notifications/", {"build_fixed": "on", "invitation_accepted": "on"}, follow=True
    )

    page = text(saved)
    assert saved.redirect_chain[-1][0] == "/account/#email-notifications"
    assert "Your email notifications are saved." in page
    expected = {
        "build_failed": False,
        "build_fixed": True,
        "invitation_accepted": True,
        "webhook_paused": False,
    }
    assert ticked(page) == expected
    account = ApiClient(alice.basic()).get("/api/v1/account/").json()
    assert account["email_notifications"] == expected
    assert NO_ADDRESS not in page and NO_EMAIL not in page


def test_htmx_swaps_the_section_in_saved(signed_in, alice):
    response = signed_in.post(
        "/account/notifications/",
        {"build_failed": "on", "build_fixed": "on", "invitation_accepted": "on"},
        headers={"HX-Request": "true"},
    )

    part = text(response)
    assert response.status_code == 200
    assert part.startswith('<section class="card" id="email-notifications"')
    assert '<span role="status">Saved.</span>' in part
    assert ticked(part)["webhook_paused"] is False
    assert (
        'hx-post="/account/notifications/"' in part and 'action="/account/notifications/"' in part
    )
    account = ApiClient(alice.basic()).get("/api/v1/account/").json()
    assert account["email_notifications"]["webhook_paused"] is False


def test_the_page_says_when_this_server_sends_no_email(signed_in, settings):
    settings.EMAIL_ENABLED = False

    page = text(signed_in.get("/account/"))

    assert NO_EMAIL in page
    # The choices stay: they are kept for when email is set up.
    assert ticked(page) == dict.fromkeys(LABELS, True)
