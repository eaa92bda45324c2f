"""Webhooks in the admin, for a namespace's or an image's Owners: the list, adding one (its
secret shown once), its page (settings, state, a test event, the delivery log, which follows
what is pending), changing it, a new secret, removing it, and sending a delivery again.

Everything works as plain links and form posts; with htmx the buttons of the webhook's page
swap in its state and log (`_webhook_live.html`), which polls while something is on its way.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlencode

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseStopPolling

from images.forms.webhooks import WebhookForm
from images.services import webhooks as webhook_service
from images.services.http import Invalid
from images.session import api_login_required

# The log follows a delivery due within this long closely (every FAST seconds); one retried
# later, every SLOW seconds, so that a page left open on a retry hours away costs little.
SOON = timedelta(minutes=1)
FAST, SLOW = 2, 30
# How long the log waits for the attempt "Send again" queued before it stops following it
# (no webhook worker may be running).
AGAIN_FOLLOWED = 120


def _offset(request) -> int:
    try:
        return max(int(request.GET.get("offset", 0)), 0)
    except ValueError:
        return 0


@dataclass(frozen=True)
class SentAgain:
    """A delivery sent again by hand, followed until its new attempt is in the log."""

    delivery_id: int
    attempts: int  # its attempts before
    since: int  # when, in seconds since the epoch

    @classmethod
    def parse(cls, value: str) -> SentAgain | None:
        try:
            delivery_id, attempts, since = (int(part) for part in value.split("-"))
        except ValueError:
            return None
        return cls(delivery_id, attempts, since)

    def __str__(self) -> str:
        return f"{self.delivery_id}-{self.attempts}-{self.since}"


def _list_page(request, *, namespace: str = "", image: str = ""):
    # The API answers 403 (a Writer: the friendly page says why) or 404 before anything shows.
    webhooks = webhook_service.list_webhooks(request.api, namespace=namespace, image=image)
    context = {
        "webhooks": webhooks,
        "namespace": namespace,
        "image_name": image,
        "own": namespace == request.api.username,
    }
    return render(request, "images/webhooks.html", context)


@api_login_required
@require_GET
def namespace_webhooks(request, namespace: str):
    return _list_page(request, namespace=namespace)


@api_login_required
@require_GET
def image_webhooks(request, name: str):
    return _list_page(request, image=name)


def _add(request, *, namespace: str = "", image: str = ""):
    scope = {"image": image} if image else {"namespace": namespace}
    events = webhook_service.list_events(request.api)
    if request.method == "POST":
        form = WebhookForm(request.POST, events=events)
        if form.is_valid():
            try:
                webhook, made = webhook_service.add_webhook(
                    request.api, form.fields_for_api(), **scope
                )
            except Invalid as error:
                form.apply_api_errors(error)
            else:
                return _secret_shown(request, webhook, made, new=True)
    else:
        # Only those who may add one see the form: a Writer gets the 403 page here.
        webhook_service.list_webhooks(request.api, **scope)
        form = WebhookForm(events=events)
    context = {"form": form, "namespace": namespace, "image_name": image, "webhook": None}
    return render(request, "images/webhook_form.html", context, status=400 if form.errors else 200)


@api_login_required
@require_http_methods(["GET", "POST"])
def namespace_webhook_new(request, namespace: str):
    return _add(request, namespace=namespace)


@api_login_required
@require_http_methods(["GET", "POST"])
def image_webhook_new(request, name: str):
    return _add(request, image=name)


def _secret_shown(request, webhook, made: webhook_service.NewSecret, *, new: bool):
    """The one page that shows a secret: never stored by the browser or a proxy."""
    context = {"webhook": webhook, "made": made, "new": new}
    response = render(request, "images/webhook_secret.html", context)
    response["Cache-Control"] = "no-store"
    return response


def _live(request, uuid: str, *, offset: int = 0, again: SentAgain | None = None) -> dict:
    """The webhook's state and one page of its log, and how often htmx refreshes them."""
    webhook = webhook_service.get_webhook(request.api, uuid)
    log = webhook_service.list_deliveries(request.api, uuid, offset=offset)
    now = timezone.now()
    awaited = None
    if again is not None and time.time() - again.since < AGAIN_FOLLOWED:
        awaited = next(
            (
                d.id
                for d in log.items
                if d.id == again.delivery_id and d.attempts_made <= again.attempts
            ),
            None,
        )
    pending = [d for d in log.items if d.pending]
    if awaited or any(d.next_attempt is None or d.next_attempt <= now + SOON for d in pending):
        poll_every = FAST
    else:
        poll_every = SLOW if pending else 0
    query = {"offset": offset} if offset else {}
    if awaited:
        query["again"] = str(again)
    poll_url = reverse("images:webhook", args=[uuid])
    if query:
        poll_url += f"?{urlencode(query)}"
    return {
        "webhook": webhook,
        "log": log,
        "offset": offset,
        "awaited": awaited,
        "poll_every": poll_every,
        "poll_url": poll_url,
    }


def _live_answer(request, context: dict):
    """The state and the log for htmx; once nothing is on its way, the answer stops the
    polling (286)."""
    response = render(request, "images/_webhook_live.html", context)
    if not context["poll_every"]:
        response.status_code = HttpResponseStopPolling.status_code
    return response


@api_login_required
@require_GET
def webhook_detail(request, uuid):
    uuid = str(uuid)
    context = _live(
        request,
        uuid,
        offset=_offset(request),
        again=SentAgain.parse(request.GET.get("again", "")),
    )
    if request.htmx:
        return _live_answer(request, context)
    labels = {e.name: e.label for e in webhook_service.list_events(request.api)}
    context["chosen_events"] = [
        (name, labels.get(name, name)) for name in context["webhook"].events
    ]
    return render(request, "images/webhook.html", context)


def _back_to_page(uuid: str, **query):
    url = reverse("images:webhook", args=[uuid])
    query = {k: v for k, v in query.items() if v}
    return redirect(f"{url}?{urlencode(query)}" if query else url)


@api_login_required
@require_POST
def webhook_test(request, uuid):
    uuid = str(uuid)
    webhook_service.send_test(request.api, uuid)
    if request.htmx:
        return _live_answer(request, _live(request, uuid))
    messages.success(request, "A test event is on its way: its delivery is at the top of the log.")
    return _back_to_page(uuid)


@api_login_required
@require_POST
def webhook_resume(request, uuid):
    """Resume a paused webhook, or turn on one that was off."""
    uuid = str(uuid)
    webhook_service.change_webhook(request.api, uuid, {"enabled": True})
    if request.htmx:
        return _live_answer(request, _live(request, uuid))
    messages.success(request, "It is on again: events are sent to it from now on.")
    return _back_to_page(uuid)


@api_login_required
@require_POST
def delivery_send_again(request, uuid, delivery_id: int):
    uuid = str(uuid)
    before = webhook_service.send_again(request.api, uuid, delivery_id)
    again = SentAgain(before.id, before.attempts_made, int(time.time()))
    offset = _offset(request) if "offset" in request.GET else 0
    if request.htmx:
        return _live_answer(request, _live(request, uuid, offset=offset, again=again))
    messages.success(request, "Sent again: its new attempt shows in the log in a moment.")
    return _back_to_page(uuid, offset=offset, again=str(again))


@api_login_required
@require_http_methods(["GET", "POST"])
def webhook_edit(request, uuid):
    uuid = str(uuid)
    webhook = webhook_service.get_webhook(request.api, uuid)
    events = webhook_service.list_events(request.api)
    if request.method == "POST":
        form = WebhookForm(request.POST, events=events)
        if form.is_valid():
            try:
                webhook_service.change_webhook(request.api, uuid, form.fields_for_api())
            except Invalid as error:
                form.apply_api_errors(error)
            else:
                messages.success(request, "Saved.")
                return _back_to_page(uuid)
    else:
        form = WebhookForm(initial=WebhookForm.initial_from(webhook), events=events)
    context = {
        "form": form,
        "webhook": webhook,
        "namespace": webhook.namespace,
        "image_name": webhook.image or "",
    }
    return render(request, "images/webhook_form.html", context, status=400 if form.errors else 200)


@api_login_required
@require_http_methods(["GET", "POST"])
def webhook_secret(request, uuid):
    """A new secret, after a confirmation; the old one keeps signing for a day beside it."""
    uuid = str(uuid)
    webhook = webhook_service.get_webhook(request.api, uuid)
    if request.method == "POST":
        made = webhook_service.new_secret(request.api, uuid)
        return _secret_shown(request, webhook, made, new=False)
    return render(request, "images/webhook_new_secret.html", {"webhook": webhook})


@api_login_required
@require_http_methods(["GET", "POST"])
def webhook_remove(request, uuid):
    uuid = str(uuid)
    webhook = webhook_service.get_webhook(request.api, uuid)
    if request.method == "POST":
        webhook_service.remove_webhook(request.api, uuid)
        messages.success(request, f"The webhook to {webhook.host} is removed, with its log.")
        if webhook.image:
            return redirect("images:image-webhooks", webhook.image)
        return redirect("images:namespace-webhooks", webhook.namespace)
    return render(request, "images/webhook_remove.html", {"webhook": webhook})
