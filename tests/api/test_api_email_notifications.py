"""Email notifications a person can turn off, through the API, and the ones joining sends,
through a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import pytest

from accounts import notices
from tests.fixtures.api import ApiClient

pytestmark = pytest.mark.django_db
ALL_ON = {
    "build_failed": True,
    "build_fixed": True,
    "invitation_accepted": True,
    "webhook_paused": True,
}


@pytest.fixture
def carol(make_account):
    return make_account("carol")


def client(account) -> ApiClient:
    return ApiClient(account.basic())


def with_email(account, address: str):
    client(account).patch("/api/v1/account/", {"email": address})
    return account


def invite_to_web(by, username: str, role: str = "Reader") -> int:
    made = client(by).post("/api/v1/team/web/invitation/", {"username": username, "role": role})
    assert made.status_code == 201, made.content
    return made.json()["id"]


def accept_from(account, invitation_id: int) -> None:
    assert client(account).post(f"/api/v1/account/invitation/{invitation_id}/").status_code == 201


def test_every_notification_is_on_until_turned_off_and_the_others_stay(api, settings):
    settings.EMAIL_ENABLED = True
    before = api.get("/api/v1/account/").json()

    changed = api.patch("/api/v1/account/", {"email_notifications": {"build_fixed": False}})
    again = api.patch(
        "/api/v1/account/", {"email_notifications": {"build_fixed": True, "build_failed": False}}
    )

    assert before["email_notifications"] == ALL_ON and before["email_enabled"] is True
    assert changed.status_code == 200, changed.content
    assert changed.json()["email_notifications"] == {**ALL_ON, "build_fixed": False}
    assert again.json()["email_notifications"] == {**ALL_ON, "build_failed": False}
    assert (
        api.get("/api/v1/account/").json()["email_notifications"]
        == again.json()["email_notifications"]
    )


@pytest.mark.parametrize(
    "value, field",
    [
        ({"build_broke": False}, "email_notifications.build_broke"),
        ({"build_failed": "sometimes"}, "email_notifications.build_failed"),
        ({"webhook_paused": None}, "email_notifications.webhook_paused"),
        ({"build_failed": [False]}, "email_notifications.build_failed"),
        (["build_failed"], "email_notifications.non_field_errors"),
        (False, "email_notifications.non_field_errors"),
    ],
)
def test_a_bad_notification_choice_is_a_400_naming_the_field(api, value, field):
    response = api.patch(
        "/api/v1/account/", {"display_name": "Alice", "email_notifications": value}
    )

    assert response.status_code == 400
    assert list(response.json()["fields"]) == [field], response.json()
    after = api.get("/api/v1/account/").json()
    assert after["email_notifications"] == ALL_ON and after["display_name"] == ""


def test_accepting_a_team_invitation_mails_who_sent_it(api, alice, bob, make_team, mailbox):
    with_email(alice, "alice@example.test")
    client(bob).patch("/api/v1/account/", {"display_name": "Bob B"})
    make_team("web", alice="Owner")
    invitation_id = invite_to_web(alice, "bob", "Writer")

    accept_from(bob, invitation_id)

    message = mailbox.wait_for("alice@example.test")[0]
    assert message["Subject"] == "Bob B (bob) accepted your invitation to team web (as Writer)"
    assert mailbox.link(message) == "http://127.0.0.1:8001/teams/web/"
    body = message.get_body(("plain",)).get_content()
    assert '"Someone accepted an invitation I sent" is on' in body
    assert "http://127.0.0.1:8001/account/" in body


def test_accepting_an_invitation_to_join_mails_the_staff_member_who_sent_it(make_account, mailbox):
    root = with_email(make_account("root", staff=True), "root@example.test")
    made = client(root).post("/api/v1/invitation/", {"email": "dana@example.test"}).json()

    joined = ApiClient().post(
        f"/api/v1/invite/{made['token']}/",
        {"username": "dana", "password": "correct horse battery staple"},
    )

    assert joined.status_code == 201, joined.content
    message = mailbox.wait_for("root@example.test")[0]
    assert message["Subject"] == "dana accepted your invitation to tutumweb"
    assert mailbox.link(message) == "http://127.0.0.1:8001/people/"


def test_a_notification_turned_off_or_without_an_address_sends_nothing(
    api, alice, bob, make_account, make_team, mailbox
):
    carol, dana, erin = (make_account(name) for name in ("carol", "dana", "erin"))
    with_email(alice, "alice@example.test")
    api.patch("/api/v1/account/", {"email_notifications": {"invitation_accepted": False}})
    make_team("web", alice="Owner", carol="Owner")
    accept_from(bob, invite_to_web(alice, "bob"))
    # carol has no address yet.
    accept_from(dana, invite_to_web(carol, "dana"))

    # Then one that is sent: the others, had they been sent, would most likely be in first.
    with_email(carol, "carol@example.test")
    accept_from(erin, invite_to_web(carol, "erin"))

    mailbox.wait_for("carol@example.test")
    assert [m["To"] for m in mailbox.messages] == ["carol@example.test"]


def test_nothing_is_sent_while_this_server_sends_no_email(
    api, alice, bob, carol, make_team, mailbox, settings
):
    with_email(alice, "alice@example.test")
    make_team("web", alice="Owner")
    settings.EMAIL_ENABLED = False
    accept_from(bob, invite_to_web(alice, "bob"))
    off = api.get("/api/v1/account/").json()["email_enabled"]

    settings.EMAIL_ENABLED = True
    accept_from(carol, invite_to_web(alice, "carol"))

    assert off is False
    [message] = mailbox.wait_for("alice@example.test")
    assert message["Subject"] == "carol accepted your invitation to team web (as Reader)"
    assert len(mailbox.messages) == 1


def test_the_webhook_paused_message_says_what_why_and_where(alice, mailbox):
    with_email(alice, "alice@example.test")
    # Exactly the context the webhooks' sender passes.
    context = {
        "webhook_url": "https://deploy.example.com/hook?a=1&b=2",
        "target": "image 127.0.0.1:5000/web/app",
        "reason": "The server answered 404 Not Found: check the URL.",
        "link": "http://127.0.0.1:8001/teams/web/webhooks/3/",
    }

    notices.notify(alice.user, "webhook_paused", "webhook_paused", context)

    message = mailbox.wait_for("alice@example.test")[0]
    body = message.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert message["Subject"] == "A webhook of image 127.0.0.1:5000/web/app was paused"
    assert "that calls https://deploy.example.com/hook?a=1&b=2 kept failing" in body
    assert "Why: The server answered 404 Not Found: check the URL." in body
    assert "every attempt is logged:\n\nhttp://127.0.0.1:8001/teams/web/webhooks/3/\n" in body
    assert '"A webhook I manage was paused because it kept failing" is on' in body
