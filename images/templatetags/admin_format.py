"""Small display filters for the admin's templates."""

from __future__ import annotations

import re
from datetime import datetime
from functools import lru_cache

from django import template
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import mark_safe

register = template.Library()


_UNITS = (
    (365 * 86400, "year"),
    (30 * 86400, "month"),
    (7 * 86400, "week"),
    (86400, "day"),
    (3600, "hour"),
    (60, "minute"),
)


@register.filter
def ago(value: datetime | None) -> str:
    """ "just now", "5 minutes ago", "13 years ago": the largest unit, as Docker Hub shows.

    Not Django's timesince: it costs a quarter of the image list's rendering time.
    """
    if not isinstance(value, datetime):
        return ""
    elapsed = (timezone.now() - value).total_seconds()
    for size, unit in _UNITS:
        if elapsed >= size:
            count = int(elapsed // size)
            return f"{count} {unit}{'' if count == 1 else 's'} ago"
    return "just now"


_STATE_ICONS = {
    "Success": "✔",
    "Building": "⟳",
    "Failed": "✖",
    "Empty": "○",
    "Queued": "◔",
    "Cancelled": "⊘",
    # Garbage collections' states.
    "Done": "✔",
    "Running": "⟳",
    # Webhooks' states, and their deliveries'.
    "Active": "✔",
    "Paused": "⏸",
    "Off": "○",
    "Delivered": "✔",
    "Retrying": "⟳",
    "Waiting": "◔",
}
_STATE_WORDS = {"Empty": "Not built yet", "Queued": "Waiting"}


@register.filter
@lru_cache(maxsize=64)
def state_badge(state: str) -> str:
    """The state as words with an icon (never colour alone); a filter, as lists show many."""
    return format_html(
        '<span class="badge state-{}"><span aria-hidden="true">{}</span> {}</span>',
        state.lower(),
        _STATE_ICONS.get(state, "○"),
        _STATE_WORDS.get(state, state),
    )


@register.filter
def time_ago(value: datetime | None, empty: str = "Never") -> str:
    """A <time> element reading "3 days ago", with the exact UTC time on hover."""
    if not isinstance(value, datetime):
        return format_html('<span class="muted">{}</span>', empty)
    # Every part comes from the datetime itself, so there is nothing to escape.
    return mark_safe(  # noqa: S308
        f'<time datetime="{value.isoformat()}" title="{value:%-d %b %Y %H:%M} UTC">'
        f"{ago(value)}</time>"
    )


@register.filter
def time_until(value: datetime | None, empty: str = "—") -> str:
    """A <time> element reading "in 5 minutes" ("now" once it is due), with the exact UTC time
    on hover: when something waiting will happen."""
    if not isinstance(value, datetime):
        return format_html('<span class="muted">{}</span>', empty)
    remaining = (value - timezone.now()).total_seconds()
    if remaining <= 0:
        words = "now"
    elif remaining < 60:
        words = "in under a minute"
    else:
        size, unit = next((size, unit) for size, unit in _UNITS if remaining >= size)
        count = int(remaining // size)
        words = f"in {count} {unit}{'' if count == 1 else 's'}"
    return format_html(
        '<time datetime="{}" title="{} UTC">{}</time>',
        value.isoformat(),
        f"{value:%-d %b %Y %H:%M}",
        words,
    )


@register.filter
def excerpt(text: str, length: int = 120) -> str:
    return text if len(text) <= length else text[: length - 1].rstrip() + "…"


@register.filter
def seconds(value: float | None) -> str:
    """A duration the way people say it: "48 s", "3 min 5 s"."""
    if value is None:
        return "—"
    whole = round(value)
    if whole < 60:
        return f"{value:.1f} s" if value < 10 else f"{whole} s"
    minutes, rest = divmod(whole, 60)
    return f"{minutes} min {rest} s" if rest else f"{minutes} min"


_SIZE_UNITS = ("kB", "MB", "GB", "TB")


@register.filter
def filesize(value: int | None) -> str:
    """Bytes in decimal units, as Docker and registries show sizes: "532 B", "1.08 MB"."""
    if not isinstance(value, int) or isinstance(value, bool):
        return "—"
    if value < 1000:
        return f"{value} B"
    size = value / 1000
    for unit in _SIZE_UNITS[:-1]:
        shown = f"{size:.3g}"  # three significant digits; "1e+03" once it rounds up to 1000
        if "e" not in shown:
            return f"{shown} {unit}"
        size /= 1000
    return f"{size:.3g} {_SIZE_UNITS[-1]}" if size < 999.5 else f"{size:.0f} {_SIZE_UNITS[-1]}"


def _count(number: int, one: str, many: str) -> str:
    return f"{number} {one if number == 1 else many}"


def _duration(value: float) -> str:
    """How long something took, in words: "under a second", "14 seconds", "2 minutes 5 seconds"."""
    if value < 1:
        return "under a second"
    minutes, rest = divmod(round(value), 60)
    if not minutes:
        return _count(rest, "second", "seconds")
    spoken = _count(minutes, "minute", "minutes")
    return f"{spoken} {_count(rest, 'second', 'seconds')}" if rest else spoken


@register.filter
def tidied(run) -> str:
    """The last garbage collection that ran to its end, in one sentence: "Last tidied 3 hours
    ago: freed 1.2 GB in 14 seconds; 3 layers were in use by a push and wait for the next
    run." (`run`: an images.services.collections.Collection that is Done.)"""
    when = f"Last tidied {ago(run.finished)}"
    took = _duration(run.seconds)
    if run.bytes_freed:
        sentence = f"{when}: freed {filesize(run.bytes_freed)} in {took}"
    else:
        sentence = f"{when}, in {took}: nothing needed freeing"
    if run.blobs_deferred:
        sentence += "; " + _count(
            run.blobs_deferred,
            "layer was in use by a push and waits for the next run",
            "layers were in use by a push and wait for the next run",
        )
    if run.blobs_restored:
        sentence += "; " + _count(
            run.blobs_restored,
            "layer a push used meanwhile was put back",
            "layers a push used meanwhile were put back",
        )
    return sentence + "."


_TRIGGERS = {"schedule": "Housekeeping (schedule)", "after a purge": "Housekeeping (after a purge)"}


@register.filter
def started_by(trigger: str) -> str:
    """Who started a garbage collection: housekeeping, or the person who asked (their name)."""
    return _TRIGGERS.get(trigger, trigger or "—")


_NOP = re.compile(r"^/bin/sh -c #\(nop\)\s*")
_SHELL = re.compile(r"^/bin/sh -c\s+")


@register.filter
def build_step(created_by: str) -> str:
    """A history entry's `created_by` as Docker Hub shows it, on one line: `ENV A=1` rather
    than `/bin/sh -c #(nop)  ENV A=1`, and `RUN …` for a shell step."""
    text = " ".join(created_by.split())
    if _NOP.match(text):
        return _NOP.sub("", text)
    if _SHELL.match(text):
        return "RUN " + _SHELL.sub("", text)
    return text


_NOT_IN_IDS = re.compile(r"[^A-Za-z0-9_-]")


@register.filter
def dom_id(value: str) -> str:
    """A tag name as an id part usable in CSS selectors (htmx targets): '.' and the like → '-'."""
    return _NOT_IN_IDS.sub("-", value)


@register.simple_tag
def tag_state(name: str, tag_name: str, state: str) -> str:
    """A tag's state badge; while it builds, it polls for its new state (htmx) every 2 s.

    A tag rather than an include: image pages show one per tag row.
    """
    slot = dom_id(tag_name)
    if state != "Building":
        return format_html(
            '<span class="tag-state" id="state-{}">{}</span>', slot, state_badge(state)
        )
    poll = reverse("images:state", args=[name, tag_name])
    return format_html(
        '<span class="tag-state" id="state-{}" hx-get="{}" hx-trigger="every 2s" '
        'hx-swap="outerHTML">{}</span>',
        slot,
        poll,
        state_badge(state),
    )
