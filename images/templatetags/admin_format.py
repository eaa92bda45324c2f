"""Small display filters for the admin's templates."""

from __future__ import annotations

import html
import re
from datetime import datetime
from functools import cache, lru_cache
from urllib.parse import quote

from django import template
from django.templatetags.static import static
from django.urls import get_script_prefix, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django_htmx.jinja import htmx_script

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


# The image list's rows are its hot path (bench/admin_list.py): one f-string per row, its
# user-supplied parts escaped with the standard library (what Django's `escape` calls), costs
# a tenth of the eight template variables and filters it replaces.
_JUMPSTART = ' <span class="pill">Jumpstart</span>'


@register.simple_tag
def image_row(image) -> str:
    """One row of the image list: name and visibility, state, tags, last build, description."""
    escape = html.escape
    visibility = "Private" if image.is_private else "Public"
    return mark_safe(  # noqa: S308 (every user-supplied part is escaped here)
        f'<tr><td><a href="{escape(image_url(image.name))}">{escape(image.name)}</a> '
        f'<span class="pill">{visibility}</span>{_JUMPSTART if image.jumpstart else ""}</td>'
        f"<td>{state_badge(image.state)}</td><td>{image.tag_count}</td>"
        f"<td>{time_ago(image.last_build_date)}</td>"
        f'<td class="description">{escape(excerpt(image.description))}</td></tr>'
    )


# Every page renders the same head and header links; reverse() and static() cost tens of
# microseconds each, so the values are computed once per process.
@register.simple_tag
def route(name: str) -> str:
    """The URL of an argument-less route, like {% url %}."""
    return _route(get_script_prefix(), name)


@lru_cache(maxsize=64)
def _route(prefix: str, name: str) -> str:
    return reverse(name)


@register.simple_tag
def asset(path: str) -> str:
    """A static file's URL, like {% static %}."""
    return _asset(path)


@lru_cache(maxsize=64)
def _asset(path: str) -> str:
    return static(path)


@register.simple_tag
def page_assets() -> str:
    """The icon, stylesheet and scripts every page loads."""
    return _page_assets()


@cache
def _page_assets() -> str:
    return format_html(
        '<link rel="icon" href="{}">\n  <link rel="stylesheet" href="{}">\n  {}\n  '
        '<script src="{}" defer></script>',
        static("img/docker.svg"),
        static("css/app.css"),
        htmx_script(),
        static("js/copy.js"),
    )


@cache
def _tag_page_pattern(page: str) -> str:
    # Image names are lowercase, so the upper-case placeholders cannot clash with them.
    return reverse(f"images:{page}", args=["NAME", "TAG"])


@register.simple_tag(name="tag_url")
def tag_url(name: str, tag: str, page: str = "tag") -> str:
    """reverse('images:<page>', args=[name, tag]), resolved once per page kind."""
    pattern = _tag_page_pattern(page).replace("NAME", quote(name, safe="/:@"), 1)
    return pattern.replace("TAG", quote(tag, safe=""), 1)


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
    poll = tag_url(name, tag_name, "state")
    return format_html(
        '<span class="tag-state" id="state-{}" hx-get="{}" hx-trigger="every 2s" '
        'hx-swap="outerHTML">{}</span>',
        slot,
        poll,
        state_badge(state),
    )
