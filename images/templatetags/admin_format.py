"""Small display filters for the admin's templates."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from urllib.parse import quote

from django import template
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.timesince import timesince

register = template.Library()


@register.filter
def ago(value: datetime | None) -> str:
    """ "just now", "5 minutes ago", "13 years ago"."""
    if not isinstance(value, datetime):
        return ""
    if (timezone.now() - value).total_seconds() < 60:
        return "just now"
    return f"{timesince(value)} ago"


_STATE_ICONS = {"Success": "✔", "Building": "⟳", "Failed": "✖", "Empty": "○", "Queued": "◔"}
_STATE_WORDS = {"Empty": "Not built yet", "Queued": "Waiting"}


@register.filter
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
    return format_html(
        '<time datetime="{}" title="{} UTC">{}</time>',
        value.isoformat(),
        value.strftime("%-d %b %Y %H:%M"),
        ago(value),
    )


@cache
def _page_pattern(page: str) -> str:
    return reverse(f"images:{page}", args=["NAME"])


@register.filter
def image_url(name: str, page: str = "detail") -> str:
    """reverse('images:<page>', args=[name]) for list rows: resolved once, not per row."""
    return _page_pattern(page).replace("NAME", quote(name, safe="/:@"), 1)


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
