"""What a delivery says and how it is signed.

The body is one JSON object in the Standard Webhooks shape, `{"type", "timestamp", "data"}`,
or for chat (`format` slack) `{"text": ...}`, which Slack, Mattermost and Rocket.Chat accept.
Every request carries `webhook-id`, `webhook-timestamp` and `webhook-signature`: HMAC-SHA256
over `id.timestamp.body` with the webhook's secret (the `standardwebhooks` package, which
receivers use to check it too).
"""

from __future__ import annotations

import base64
import json
import secrets
from datetime import datetime
from typing import TYPE_CHECKING

from django.conf import settings
from django.urls import NoReverseMatch, reverse
from standardwebhooks.webhooks import Webhook as Signer

from records.models import Build, Webhook

if TYPE_CHECKING:
    from webhooks.events import Subject

API = "/api/v1"
SECRET_PREFIX = "whsec_"
USER_AGENT = "tutumweb-webhooks/1"


def new_secret() -> str:
    """A secret as Standard Webhooks writes them: `whsec_` and 32 random bytes in base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def admin_link(view: str, *args: str) -> str:
    try:
        return settings.ADMIN_PUBLIC_URL + reverse(view, args=args)
    except NoReverseMatch:
        return ""


def _actor(name: str) -> dict:
    if not name:
        return {"name": "", "kind": "system"}
    return {"name": name, "kind": "team token" if "+" in name else "person"}


def _stamp(moment: datetime | None) -> str | None:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None


def payload(
    event: str,
    subject: Subject,
    now: datetime,
    *,
    tag: str = "",
    digest: str = "",
    actor: str = "",
    build: Build | None = None,
    details: dict | None = None,
) -> dict:
    image_uri = f"{API}/image/{subject.name}/"
    data: dict = {
        "image": {
            "name": subject.name,
            "namespace": subject.namespace,
            "resource_uri": image_uri,
            "url": admin_link("images:detail", subject.name),
        },
        "actor": _actor(actor),
    }
    if tag:
        data["tag"] = {
            "name": tag,
            "resource_uri": f"{image_uri}tag/{tag}/",
            "digest": digest or None,
            # By digest: what was pushed, even once the tag has moved on.
            "pull": f"{subject.name}@{digest}" if digest else f"{subject.name}:{tag}",
            "url": admin_link("images:tag", subject.name, tag),
        }
    if build is not None:
        data["build"] = {
            "uuid": str(build.uuid),
            "state": build.state,
            "trigger": build.trigger,
            "branch": build.branch,
            "commit": build.commit_sha or None,
            "error": build.error or None,
            "started": _stamp(build.started),
            "finished": _stamp(build.finished),
            # The tag's page, whose build panel shows the latest build's log.
            "log_url": admin_link("images:tag", subject.name, tag) + "#build-log",
        }
    data.update(details or {})
    return {"type": event, "timestamp": _stamp(now), "data": data}


def chat_text(body: dict) -> str:
    """The event in one line for a chat channel, with a link."""
    event, data = body["type"], body["data"]
    name = data["image"]["name"]
    tag = data.get("tag")
    who = data["actor"]["name"] or "tutumweb"
    target = f"{name}:{tag['name']}" if tag else name
    digest = f" ({tag['digest'][:19]})" if tag and tag.get("digest") else ""
    build = data.get("build") or {}
    sentences = {
        "tag.pushed": f"{who} pushed {target}{digest}",
        "tag.deleted": f"{who} deleted {target} (it is in the recycle bin)",
        "tag.restored": f"{who} restored {target}{digest}",
        "image.registered": f"{who} registered {name}",
        "image.deleted": f"{who} deleted {name} (it is in the recycle bin)",
        "image.restored": f"{who} restored {name}",
        "build.started": f"Build of {target} started",
        "build.succeeded": f"Build of {target} succeeded{digest}",
        "build.failed": f"Build of {target} failed: {build.get('error') or 'see its log'}",
        "cleanup.ran": f"Cleanup moved {len(data.get('tags', []))} tag(s) of {name} to the "
        "recycle bin",
        "webhook.test": f"Test event from tutumweb for {name}, sent by {who}",
    }
    link = build.get("log_url") or (tag or {}).get("url") or data["image"].get("url")
    text = sentences.get(event, f"{event}: {target}")
    return f"{text}: <{link}|open>" if link else text


def body_of(webhook: Webhook, message: dict) -> str:
    if webhook.format == Webhook.Format.SLACK:
        message = {"text": chat_text(message)}
    return json.dumps(message, separators=(",", ":"), sort_keys=True)


def headers(webhook: Webhook, message_id: str, moment: datetime, body: str) -> dict[str, str]:
    """The request's headers, signed with the secret and, after a rotation, the previous one
    too (space-separated, as Standard Webhooks allows), so a receiver can switch at leisure."""
    secrets_now = [webhook.secret, webhook.previous_secret]
    signatures = [Signer(s).sign(message_id, moment, body) for s in secrets_now if s]
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "webhook-id": message_id,
        "webhook-timestamp": str(int(moment.timestamp())),
        "webhook-signature": " ".join(signatures),
    }
