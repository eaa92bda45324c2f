"""Webhooks as their Owners see them: who may read and change which, making one (its secret
shown once), changing it, a new secret, a test event, sending a delivery again.

A namespace's webhooks are its Owners': a team's Owners, or the person whose namespace it is
(staff act as Owners everywhere). A team's Writer or Reader gets a 403 (they may know that
webhooks exist: the team's page says so); anyone else a 404.
"""

from __future__ import annotations

import re
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet
from django.utils import timezone

from lib import outbound
from lib.errors import Forbidden, Invalid, NotFound
from records.models import Image, Membership, Role, Webhook, WebhookDelivery
from teams import access
from teams.tokens import TokenPrincipal
from webhooks import events, messages
from webhooks.tasks import deliver

# A namespace (or one image) has at most this many: each event is sent to each of them.
MOST_PER_NAMESPACE = 20
# After a new secret, the old one still signs for this long.
OLD_SECRET_KEPT = timedelta(hours=24)
TAG_PATTERN = re.compile(r"^[A-Za-z0-9_.\-*?\[\]!]{1,128}$")


def manageable_by(user) -> QuerySet[Webhook]:
    """The webhooks `user` may read and change."""
    webhooks = Webhook.objects.all()
    if getattr(user, "is_staff", False):
        return webhooks
    if not getattr(user, "pk", None) or isinstance(user, TokenPrincipal):
        return webhooks.none()
    owned = Membership.objects.filter(user_id=user.pk, role=Role.OWNER).values("team_id")
    return webhooks.filter(Q(team_id__in=owned) | Q(team=None, owner_id=user.pk))


def get(user, webhook_uuid) -> Webhook:
    """The webhook if `user` manages it; a 403 for a team member who does not, else 404."""
    webhook = Webhook.objects.select_related("team").filter(uuid=webhook_uuid).first()
    if webhook is None:
        raise NotFound("No such webhook.")
    if manageable_by(user).filter(pk=webhook.pk).exists():
        return webhook
    _refuse(user, webhook.namespace)
    raise NotFound("No such webhook.")


def _refuse(user, namespace: str) -> None:
    """Raise Forbidden for someone with a lesser part in `namespace` (a team's Writer or
    Reader, or its access token); return if they have none (the caller answers 404)."""
    team, role = access.namespace_role(user, namespace)
    if isinstance(user, TokenPrincipal):
        if team is not None and team.pk == user.team_id:
            raise Forbidden("Team access tokens cannot see or change webhooks.")
        return
    if role is not None:
        raise Forbidden(
            f"You are a {role} in team {namespace}: only its Owners see and change its webhooks."
        )


def target(user, *, namespace: str = "", image: Image | None = None):
    """(namespace, team, owner) of a new webhook, if `user` is an Owner there."""
    if image is not None:
        namespace = events.namespace_of(image)
    team, role = access.namespace_role(user, namespace)
    if role is None:
        raise NotFound(f"No namespace named {namespace} of yours.")
    if not access.at_least(role, Role.OWNER):
        _refuse(user, namespace)
    owner = None
    if team is None:
        owner = image.owner if image is not None else _person(namespace)
        if owner is None:
            raise NotFound(f"No namespace named {namespace} of yours.")
    return namespace, team, owner


def _person(username: str):
    return get_user_model().objects.filter(username=username).first()


def check(fields: dict) -> dict:
    """The fields of a webhook as given, checked; raises Invalid naming each wrong one."""
    problems: dict[str, list[str]] = {}
    if "url" in fields:
        url = str(fields["url"] or "").strip()
        if len(url) > 2000:
            problems["url"] = ["Use a URL of at most 2000 characters."]
        else:
            why = outbound.refusal(url)
            if why:
                problems["url"] = [why]
        fields["url"] = url
    if "events" in fields:
        chosen = fields["events"]
        unknown = [e for e in chosen if e not in events.EVENTS]
        if unknown:
            problems["events"] = [
                f"Unknown event {unknown[0]!r}: choose from {', '.join(events.EVENTS)}."
            ]
        elif not chosen:
            problems["events"] = ["Choose at least one event."]
        fields["events"] = [e for e in events.EVENTS if e in chosen]
    pattern = fields.get("tag_pattern")
    if pattern and not TAG_PATTERN.match(pattern):
        problems["tag_pattern"] = [
            "Use a tag, or a pattern with * (any characters) and ? (one character), e.g. v* "
            "or release-?; at most 128 characters."
        ]
    if problems:
        raise Invalid(problems)
    return fields


def create(user, fields: dict, *, namespace: str = "", image: Image | None = None):
    """A new webhook and its secret (shown this once)."""
    namespace, team, owner = target(user, namespace=namespace, image=image)
    image_name = image.name if image is not None else ""
    if Webhook.objects.filter(namespace=namespace).count() >= MOST_PER_NAMESPACE:
        raise Invalid(
            f"{namespace} has {MOST_PER_NAMESPACE} webhooks already, the most it may have: "
            "remove one first, or send more events to one receiver."
        )
    fields = check(fields)
    secret = messages.new_secret()
    webhook = Webhook(
        namespace=namespace,
        team=team,
        owner=owner,
        image_name=image_name,
        created_by=user.get_username(),
        **fields,
    )
    webhook.secret = secret
    webhook.save()
    return webhook, secret


def change(webhook: Webhook, fields: dict) -> Webhook:
    """Change the fields given. Turning a paused webhook on again clears why it paused."""
    fields = check(fields)
    for name, value in fields.items():
        setattr(webhook, name, value)
    if fields.get("enabled"):
        webhook.paused_at, webhook.paused_reason, webhook.failures_in_a_row = None, "", 0
    webhook.updated = timezone.now()
    webhook.save()
    return webhook


def rotate_secret(webhook: Webhook) -> str:
    """A new secret; the old one signs beside it for OLD_SECRET_KEPT."""
    secret = messages.new_secret()
    webhook.previous_secret_encrypted = webhook.secret_encrypted
    webhook.previous_secret_until = timezone.now() + OLD_SECRET_KEPT
    webhook.secret = secret
    webhook.updated = timezone.now()
    webhook.save()
    return secret


def send_again(delivery: WebhookDelivery) -> None:
    """One more attempt at a delivery, now, whatever became of it."""
    deliver.enqueue(delivery.pk, by_hand=True)


def deliveries(webhook: Webhook) -> QuerySet[WebhookDelivery]:
    return webhook.deliveries.prefetch_related("attempts")


def delivery(webhook: Webhook, delivery_id: int) -> WebhookDelivery:
    found = deliveries(webhook).filter(pk=delivery_id).first()
    if found is None:
        raise NotFound(f"No delivery {delivery_id} of this webhook.")
    return found
