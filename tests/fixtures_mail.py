"""A real SMTP server (aiosmtpd) on a free port, and Django's email settings pointing at it."""

from __future__ import annotations

import email
import email.policy
import re
import threading
import time
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller

from tests.fixtures_registry import free_port


class Mailbox:
    """Every message the server accepted, as parsed email messages."""

    def __init__(self):
        self.messages: list[EmailMessage] = []
        self._arrived = threading.Condition()

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self._arrived:
            self.messages.append(message)
            self._arrived.notify_all()
        return "250 OK"

    def wait_for(self, to: str, count: int = 1, timeout: float = 20) -> list[EmailMessage]:
        """The first `count` messages to `to`, waiting for them (some are sent in background)."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while len(found := self.to(to)) < count:
                left = deadline - time.monotonic()
                assert left > 0, f"{count} message(s) to {to} expected, got {len(found)}"
                self._arrived.wait(left)
        return found[:count]

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if address in m["To"]]

    @staticmethod
    def link(message: EmailMessage) -> str:
        body = message.get_body(("plain",)).get_content()
        return re.search(r"https?://\S+", body).group(0)


@pytest.fixture
def mailbox(settings) -> Mailbox:
    """Email is set up (as EMAIL_URL=smtp://127.0.0.1:<port> would) and arrives here."""
    box = Mailbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_ENABLED = True
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    yield box
    controller.stop()
