"""Email to people (invitations, password reset links), when EMAIL_URL is set.

The links point at the web admin's public address (ADMIN_PUBLIC_URL), never at the Host a
request came with: otherwise anyone could have a valid reset link mailed to a site of theirs.
"""

from __future__ import annotations

import logging
import smtplib
import threading

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse

log = logging.getLogger(__name__)


def enabled() -> bool:
    return settings.EMAIL_ENABLED


def admin_link(view_name: str, *args: str) -> str:
    return settings.ADMIN_PUBLIC_URL + reverse(view_name, args=args)


def send(to: str, template: str, context: dict) -> str:
    """Send `email/<template>.txt` (its first line is the subject); returns "" when the mail
    server took it, else why not, in words for the person who asked."""
    subject, _, body = render_to_string(f"email/{template}.txt", context).partition("\n")
    try:
        send_mail(subject.strip(), body.strip() + "\n", None, [to])
    except (smtplib.SMTPException, OSError) as error:
        log.warning("email to %s not sent: %s", to, error)
        return f"the mail server refused it or did not answer ({error.__class__.__name__})"
    return ""


def send_in_background(to: str, template: str, context: dict) -> None:
    """Send without the answer waiting for the mail server, so how long an answer takes says
    nothing about whether the address belongs to someone. A process stopping at that moment
    loses the message; the person can ask again."""
    threading.Thread(target=send, args=(to, template, context), daemon=True).start()
