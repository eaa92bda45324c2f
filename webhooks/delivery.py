"""Sending a delivery: one attempt at a time, retried on what may pass (no answer, a timeout, a
5xx, 408 and 429), never on what will not (any other answer), as `SCHEDULE` says; and pausing a
webhook whose deliveries keep failing, telling its Owners why in words."""

from __future__ import annotations

import email.utils
import logging
from datetime import datetime, timedelta
from http import HTTPStatus
from time import monotonic

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit import trail
from lib import outbound
from records.models import Membership, Role, Tally, Webhook, WebhookAttempt, WebhookDelivery
from webhooks import messages

log = logging.getLogger(__name__)

# The wait before each retry; with the first attempt, 8 attempts over 27 h 35 min (the
# schedule Standard Webhooks' authors use). No jitter: a test clock checks it, and deliveries
# to one receiver are spread by the events that cause them.
SCHEDULE = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=10),
)
# The longest a Retry-After header may hold a retry back.
LONGEST_WAIT = timedelta(hours=10)
# What the log keeps of an answer.
EXCERPT_BYTES = 1024
RETRIED_STATUSES = {408, 429}
# A delivery still due this long after its time was lost (its worker stopped): queued again.
LOST_AFTER = timedelta(minutes=10)

_client = None


def _session():
    global _client
    if _client is None:
        _client = outbound.session()
    return _client


class Answer:
    """What one attempt got: a status and the answer's first bytes, or why there was none."""

    def __init__(
        self, status: int | None = None, excerpt: str = "", error: str = "", refused=False
    ):
        self.status, self.excerpt, self.error = status, excerpt, error
        # Refused by the outbound policy: no retry will pass it.
        self.refused = refused
        self.retry_after: timedelta | None = None
        self.location = ""

    @property
    def succeeded(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def may_pass_later(self) -> bool:
        """Whether trying again may get another answer."""
        if self.status is None:
            return not self.refused
        return self.status >= 500 or self.status in RETRIED_STATUSES


def _post(webhook: Webhook, delivery: WebhookDelivery, now: datetime) -> Answer:
    """One signed POST through the outbound policy (which checks the address it connects to,
    so a name that now resolves to a private address is refused here too)."""
    body = messages.body_of(webhook, delivery.payload)
    headers = messages.headers(webhook, delivery.message_id, now, body)
    timeout = settings.WEBHOOK_TIMEOUT
    try:
        response = outbound.send(
            _session(),
            "POST",
            webhook.url,
            headers=headers,
            data=body.encode(),
            timeout=timeout,
            max_bytes=EXCERPT_BYTES,
            truncate=True,
        )
    except outbound.Unreachable as error:
        log.info("webhook %s: %s", webhook.uuid, error.reason)
        if "did not answer in time" in error.reason:
            return Answer(error=f"The server did not answer within {timeout:g} seconds.")
        if "refused by the outbound policy" in error.reason:
            return Answer(error=outbound.refusal(webhook.url) or error.reason, refused=True)
        return Answer(
            error="The server could not be reached (no connection could be made): check the "
            "URL and that the server is up."
        )
    answer = Answer(response.status_code, response.content.decode("utf-8", "replace"))
    answer.retry_after = _retry_after(response.headers.get("Retry-After", ""), now)
    answer.location = response.headers.get("Location", "")
    return answer


def _count(logged: WebhookAttempt) -> None:
    """For /metrics: one attempt more, by outcome, with the time it took."""
    outcome = "delivered" if logged.succeeded else "failed"
    Tally.add(Tally.Name.WEBHOOK_ATTEMPTS, label=outcome, amount=logged.duration_ms / 1000)


def _retry_after(value: str, now: datetime) -> timedelta | None:
    value = value.strip()
    if not value:
        return None
    if value.isdigit():
        return min(timedelta(seconds=int(value)), LONGEST_WAIT)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return min(max(when - now, timedelta(0)), LONGEST_WAIT)


def reason(answer: Answer) -> str:
    """Why an attempt failed, in words a person can act on."""
    if answer.status is None:
        return answer.error
    code = answer.status
    try:
        said = f"{code} {HTTPStatus(code).phrase}"
    except ValueError:
        said = str(code)
    if 300 <= code < 400:
        where = f" to {answer.location}" if answer.location else ""
        return f"The server answered {said}, a redirect{where}: use that URL instead."
    hints = {
        400: "it did not accept the message: check that this URL expects these webhooks",
        401: "it wants credentials: check the token or key the URL should carry",
        403: "it refused the message: check the token or key the URL should carry",
        404: "check the URL",
        405: "this URL does not take POST requests: check the URL",
        408: "it gave up waiting; it will be tried again",
        410: "the receiver is gone: change or remove this webhook",
        413: "the message was too large for it",
        429: "it asked us to slow down; it will be tried again",
    }
    if code in hints:
        return f"The server answered {said}: {hints[code]}."
    if code >= 500:
        return f"The server answered {said}: it failed on its side; it will be tried again."
    return f"The server answered {said}."


def attempt(delivery_id: int, *, number: int | None = None, by_hand: bool = False) -> str:
    """Make the delivery's next attempt; returns its state after. A retry is queued as the
    schedule says; an attempt by hand ("Send again") is one more, whatever the state.

    `number` is the attempt the task was queued for: a task queued twice for one attempt (see
    `resume_lost`) makes it once."""
    from webhooks.tasks import deliver  # the task calls this module

    now = timezone.now()
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update()
            .select_related("webhook")
            .filter(pk=delivery_id)
            .first()
        )
        if delivery is None:
            return "gone"
        if not by_hand:
            if delivery.state != WebhookDelivery.State.PENDING:
                return delivery.state  # sent again by hand meanwhile, or already made
            if number is not None and number != delivery.attempts_made + 1:
                return delivery.state  # made already, by the other task queued for it
            if not delivery.webhook.enabled:
                return _give_up(delivery, "Not sent: the webhook was turned off or paused.", False)
        number = delivery.attempts_made + 1
        delivery.attempts_made = number
        if not by_hand:
            # Due again if this attempt is lost with its worker (resume_lost).
            delivery.next_attempt = now + timedelta(seconds=settings.WEBHOOK_TIMEOUT) + LOST_AFTER
        delivery.save(update_fields=["attempts_made", "next_attempt"])
    webhook = delivery.webhook
    started = monotonic()
    answer = _post(webhook, delivery, now)
    logged = WebhookAttempt(
        delivery=delivery,
        number=number,
        started=now,
        duration_ms=int((monotonic() - started) * 1000),
        status_code=answer.status,
        response_excerpt=answer.excerpt,
        error="" if answer.succeeded else reason(answer),
        by_hand=by_hand,
    )
    if answer.succeeded:
        with transaction.atomic():
            logged.save()
            _count(logged)
            WebhookDelivery.objects.filter(pk=delivery.pk).update(
                state=WebhookDelivery.State.DELIVERED, outcome="", next_attempt=None
            )
            if webhook.failures_in_a_row:
                Webhook.objects.filter(pk=webhook.pk).update(failures_in_a_row=0)
        return WebhookDelivery.State.DELIVERED
    with transaction.atomic():
        logged.save()
        _count(logged)
    if by_hand:
        # Sent again by hand and failed: the delivery stays as it was (a retry still due stays
        # due; one that arrived before stays delivered) and the webhook's count is not moved.
        if delivery.state != WebhookDelivery.State.DELIVERED:
            WebhookDelivery.objects.filter(pk=delivery.pk).update(outcome=reason(answer))
        return delivery.state
    retries_made = delivery.attempts.filter(by_hand=False).count() - 1
    if answer.may_pass_later and retries_made < len(SCHEDULE):
        wait = SCHEDULE[retries_made]
        if answer.retry_after is not None:
            wait = max(wait, answer.retry_after)
        when = now + wait
        with transaction.atomic():
            WebhookDelivery.objects.filter(pk=delivery.pk).update(
                next_attempt=when, outcome=reason(answer)
            )
            deliver.using(run_after=when).enqueue(delivery.pk, number=number + 1)
        return WebhookDelivery.State.PENDING
    if answer.may_pass_later:
        return _give_up(
            delivery, f"{reason(answer)} Gave up after {number} attempts over a day.", True
        )
    return _give_up(delivery, reason(answer), True)


def _give_up(delivery: WebhookDelivery, why: str, count: bool) -> str:
    """The delivery failed for good; after WEBHOOK_PAUSE_AFTER in a row, so has the webhook."""
    with transaction.atomic():
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            state=WebhookDelivery.State.FAILED, outcome=why, next_attempt=None
        )
        if not count:
            return WebhookDelivery.State.FAILED
        webhook = Webhook.objects.select_for_update().get(pk=delivery.webhook_id)
        webhook.failures_in_a_row += 1
        webhook.save(update_fields=["failures_in_a_row"])
        pause = webhook.enabled and webhook.failures_in_a_row >= settings.WEBHOOK_PAUSE_AFTER
        if pause:
            webhook.enabled, webhook.paused_at = False, timezone.now()
            webhook.paused_reason = (
                f"Paused after {webhook.failures_in_a_row} deliveries in a row failed. The "
                f"last: {why}"
            )
            webhook.save(update_fields=["enabled", "paused_at", "paused_reason"])
    if pause:
        log.warning("webhook %s paused: %s", webhook.uuid, why)
        trail.record(
            "webhook.pause",
            webhook.image_name or webhook.namespace,
            team=webhook.team_id,
            details={"url": webhook.url, "reason": why},
        )
        _tell_owners(webhook, why)
    return WebhookDelivery.State.FAILED


def owners(webhook: Webhook) -> list:
    """Who manages a webhook: its team's Owners, or the person whose namespace it is."""
    if webhook.team_id is not None:
        return [
            m.user
            for m in Membership.objects.filter(team_id=webhook.team_id, role=Role.OWNER)
            .select_related("user")
            .order_by("user__username")
        ]
    return [webhook.owner] if webhook.owner_id is not None else []


def _tell_owners(webhook: Webhook, why: str) -> None:
    from accounts import notices

    if webhook.image_name:
        target = f"image {webhook.image_name}"
    elif webhook.team_id:
        target = f"team {webhook.namespace}"
    else:
        target = f"namespace {webhook.namespace}"
    context = {
        "webhook_url": webhook.url,
        "target": target,
        "reason": why,
        "link": messages.admin_link("images:webhook", str(webhook.uuid)),
    }
    for person in owners(webhook):
        notices.notify(person, "webhook_paused", "webhook_paused", context)


def resume_lost(now: datetime | None = None) -> int:
    """Queue again the deliveries a stopped worker left due (housekeeping's). A task still
    queued for one of them finds its attempt made and does nothing."""
    from webhooks.tasks import deliver

    now = now or timezone.now()
    lost = WebhookDelivery.objects.filter(
        state=WebhookDelivery.State.PENDING, next_attempt__lt=now - LOST_AFTER
    ).values_list("pk", "attempts_made")
    for pk, made in lost:
        deliver.enqueue(pk, number=made + 1)
    return len(lost)


def prune(now: datetime | None = None) -> int:
    """Deliveries older than WEBHOOK_LOG_DAYS, with their attempts (housekeeping's)."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.WEBHOOK_LOG_DAYS)
    old = WebhookDelivery.objects.filter(created__lt=cutoff).exclude(
        state=WebhookDelivery.State.PENDING
    )
    return old.delete()[1].get(WebhookDelivery._meta.label, 0)
