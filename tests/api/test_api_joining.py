"""Joining: staff invite by email (a link that works once, until it expires), accepting it,
open sign-up, and reset links by email, through a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest
from django.utils import timezone

from records.models import Invitation
from tests.fixtures.api import ApiClient
from tests.fixtures.ports import free_port

pytestmark = pytest.mark.django_db
STRONG = "correct horse battery staple"


@pytest.fixture
def root(make_account):
    return make_account("root", staff=True)


def as_(account) -> ApiClient:
    return ApiClient(account.basic())


def invite(root, email="dana@example.test") -> dict:
    response = as_(root).post("/api/v1/invitation/", {"email": email})
    assert response.status_code == 201, response.json()
    return response.json()


def accept(token: str, username="dana", password=STRONG, **extra):
    return ApiClient().post(
        f"/api/v1/invite/{token}/", {"username": username, "password": password, **extra}
    )


def test_an_invitation_is_emailed_and_its_link_makes_one_account_once(root, mailbox):
    made = invite(root)

    assert made["not_sent"] == "" and made["sent"] is not None
    message = mailbox.wait_for("dana@example.test")[0]
    assert message["Subject"] == "You're invited to tutumweb"
    link = mailbox.link(message)
    assert link == f"http://127.0.0.1:8001/invite/{made['token']}/"
    token = link.rstrip("/").rsplit("/", 1)[1]
    opened = ApiClient().get(f"/api/v1/invite/{token}/").json()
    assert opened["email"] == "dana@example.test" and opened["invited_by"] == "root"

    joined = accept(token, display_name="Dana")

    assert joined.status_code == 201 and joined.json() == {"username": "dana"}
    me = ApiClient(f"Basic {_b64('dana', STRONG)}").get("/api/v1/account/").json()
    assert me["email"] == "dana@example.test" and me["display_name"] == "Dana"
    assert me["is_staff"] is False
    again = accept(token, username="dana2")
    assert again.status_code == 400
    assert again.json()["fields"]["token"] == [
        "This invitation was already used. Sign in with the username you chose."
    ]
    assert as_(root).get("/api/v1/invitation/").json()["objects"] == []


def test_without_email_the_invitation_says_so_and_its_link_still_works(root):
    made = invite(root)

    assert made["not_sent"] == "email is not set up here" and made["sent"] is None
    assert accept(made["token"]).status_code == 201


def test_resending_makes_a_new_link_and_the_old_one_stops(root, mailbox):
    first = invite(root)
    Invitation.objects.filter(pk=first["id"]).update(expires=timezone.now() - timedelta(days=1))
    assert as_(root).get("/api/v1/invitation/").json()["objects"][0]["is_expired"] is True
    expired = accept(first["token"])
    assert expired.json()["fields"]["token"] == [
        "This invitation has expired. Ask staff to send it again."
    ]

    second = as_(root).post(f"/api/v1/invitation/{first['id']}/resend/").json()

    assert second["token"] != first["token"] and second["is_expired"] is False
    assert len(mailbox.wait_for("dana@example.test", count=2)) == 2
    assert "a newer one was sent" in accept(first["token"]).json()["error"]
    assert accept(second["token"]).status_code == 201


def test_a_cancelled_invitation_link_stops_working(root):
    made = invite(root)

    assert as_(root).delete(f"/api/v1/invitation/{made['id']}/").status_code == 204

    refused = ApiClient().get(f"/api/v1/invite/{made['token']}/")
    assert refused.status_code == 400 and "it was cancelled" in refused.json()["error"]
    assert as_(root).delete(f"/api/v1/invitation/{made['id']}/").status_code == 404


def test_inviting_refuses_an_address_already_here_or_invited(root, alice):
    alice.user.email = "alice@example.test"
    alice.user.save()
    invite(root, "dana@example.test")

    taken = as_(root).post("/api/v1/invitation/", {"email": "ALICE@example.test"}).json()
    twice = as_(root).post("/api/v1/invitation/", {"email": "dana@example.test"}).json()
    not_an_address = as_(root).post("/api/v1/invitation/", {"email": "dana"}).json()

    assert taken["fields"] == {"email": ["alice already uses this address."]}
    assert twice["fields"]["email"][0].startswith("This address already has an invitation")
    assert not_an_address["fields"] == {"email": ["Enter a valid email address."]}


@pytest.mark.parametrize(
    "method, path",
    [
        ("get", "/api/v1/invitation/"),
        ("post", "/api/v1/invitation/"),
        ("get", "/api/v1/invitation/1/"),
        ("delete", "/api/v1/invitation/1/"),
        ("post", "/api/v1/invitation/1/resend/"),
    ],
)
def test_invitations_are_staff_only(root, alice, method, path):
    Invitation.objects.create(pk=1, email="x@example.test", token_hash="x", expires=timezone.now())

    response = getattr(as_(alice), method)(path, {"email": "eve@example.test"})

    assert response.status_code == 403
    assert ApiClient().get("/api/v1/invitation/").status_code == 401
    assert Invitation.objects.count() == 1


def test_accepting_names_every_rule_broken_and_keeps_the_link(root, alice):
    token = invite(root)["token"]

    refused = accept(token, username="Dana Smith", password="dana").json()
    taken = accept(token, username="alice", password=STRONG).json()

    assert refused["fields"]["username"][0].startswith("A username is 2 to 30 lowercase")
    assert (
        "This password is too short. It must contain at least 8 characters."
        in (refused["fields"]["password"])
    )
    assert taken["fields"] == {"username": ["Someone here already has this username."]}
    assert accept(token).status_code == 201


def test_sign_up_is_off_unless_allowed(settings):
    assert ApiClient().get("/api/v1/signup/").json() == {"open": False}
    body = {"username": "eve", "email": "eve@example.test", "password": STRONG}

    refused = ApiClient().post("/api/v1/signup/", body)

    assert refused.status_code == 403
    assert refused.json() == {"error": "Sign-up is off here: ask a staff member for an invitation."}
    settings.ALLOW_SIGNUP = True
    assert ApiClient().get("/api/v1/signup/").json() == {"open": True}
    assert ApiClient().post("/api/v1/signup/", body).status_code == 201
    assert ApiClient(f"Basic {_b64('eve', STRONG)}").get("/api/v1/image/").status_code == 200


def test_a_reset_email_gets_the_same_answer_whether_the_address_is_here_or_not(alice, mailbox):
    alice.user.email = "alice@example.test"
    alice.user.save()

    known = ApiClient().post("/api/v1/password-reset/request/", {"email": "ALICE@example.test"})
    unknown = ApiClient().post("/api/v1/password-reset/request/", {"email": "nobody@example.test"})

    assert known.status_code == unknown.status_code == 202
    assert known.json() == unknown.json()
    message = mailbox.wait_for("alice@example.test")[0]
    assert message["Subject"] == "Choose a new password for tutumweb"
    uid, token = mailbox.link(message).rstrip("/").rsplit("/", 2)[1:]
    reset = {"uid": uid, "token": token, "new_password": STRONG}
    assert ApiClient().post("/api/v1/password-reset/", reset).status_code == 200
    assert ApiClient(f"Basic {_b64('alice', STRONG)}").get("/api/v1/image/").status_code == 200
    used = ApiClient().post("/api/v1/password-reset/", {**reset, "new_password": STRONG + "!"})
    assert used.status_code == 400
    assert used.json()["fields"]["token"][0].startswith("This link has expired or was already")
    assert mailbox.to("nobody@example.test") == []


def test_reset_emails_are_rate_limited_per_mailbox_and_per_address(alice, mailbox, settings):
    settings.RESET_EMAILS_PER_HOUR, settings.ACCOUNT_REQUESTS_PER_HOUR = 2, 4
    alice.user.email = "alice@example.test"
    alice.user.save()
    ask = {"email": "alice@example.test"}

    answers = [
        ApiClient().post("/api/v1/password-reset/request/", ask, REMOTE_ADDR=f"10.0.0.{n}")
        for n in range(3)
    ]
    same_address = [
        ApiClient().post("/api/v1/password-reset/request/", ask, REMOTE_ADDR="10.0.1.1")
        for _ in range(5)
    ]

    assert [a.status_code for a in answers] == [202, 202, 202]
    assert [a.status_code for a in same_address] == [202, 202, 202, 202, 429]
    assert same_address[-1].json()["error"].startswith("Too many requests from your address")
    assert len(mailbox.wait_for("alice@example.test", count=2)) == 2
    assert len(mailbox.to("alice@example.test")) == 2


def test_without_email_a_reset_email_request_says_to_ask_staff():
    assert ApiClient().get("/api/v1/password-reset/request/").json() == {"by_email": False}

    refused = ApiClient().post("/api/v1/password-reset/request/", {"email": "a@example.test"})

    assert refused.status_code == 400
    assert "ask a staff member for a reset link" in refused.json()["error"]


def _b64(username: str, password: str) -> str:
    return base64.b64encode(f"{username}:{password}".encode()).decode()


def test_an_expired_reset_link_is_refused_and_says_what_to_do(alice, mailbox, settings):
    alice.user.email = "alice@example.test"
    alice.user.save()
    ApiClient().post("/api/v1/password-reset/request/", {"email": "alice@example.test"})
    uid, token = (
        mailbox.link(mailbox.wait_for("alice@example.test")[0]).rstrip("/").rsplit("/", 2)[1:]
    )
    settings.PASSWORD_RESET_TIMEOUT = -1

    expired = ApiClient().post(
        "/api/v1/password-reset/", {"uid": uid, "token": token, "new_password": STRONG}
    )

    assert expired.status_code == 400
    assert expired.json()["fields"]["token"] == [
        "This link has expired or was already used. Ask for a new one: “Forgot your "
        "password?” on the sign-in page, or a staff member."
    ]
    assert ApiClient(alice.basic()).get("/api/v1/image/").status_code == 200


def test_a_mail_server_that_refuses_leaves_the_invitation_and_says_why(root, settings):
    settings.EMAIL_ENABLED = True
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()

    made = invite(root)

    assert made["not_sent"] == (
        "the mail server refused it or did not answer (ConnectionRefusedError)"
    )
    assert made["sent"] is None
    assert accept(made["token"]).status_code == 201
