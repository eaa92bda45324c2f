"""Storage (staff): what the registry stores, the last garbage collection in words, tidying up
now (the page follows the run while it goes), and the history of collections."""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseStopPolling

from images.services import collections as collection_service
from images.services.http import Conflict
from images.session import api_login_required

TIDYING = "Tidying up… pushes and pulls go on as usual."


def _offset(request) -> int:
    try:
        return max(int(request.GET.get("offset", 0)), 0)
    except ValueError:
        return 0


def _context(request, offset: int = 0, refused: str = "") -> dict:
    """The page's facts: the history at `offset`, the newest collection (under way, or a try
    that failed) and the last one that ran to its end (what is stored now comes from it)."""
    creds = request.api
    history = collection_service.list_collections(creds, offset=offset)
    if offset:
        newest = collection_service.latest(creds)
        last_done = collection_service.latest(creds, state="Done")
    else:
        newest = history.items[0] if history.items else None
        last_done = next((run for run in history.items if run.state == "Done"), None)
        if last_done is None and history.has_next:
            last_done = collection_service.latest(creds, state="Done")
    query = f"?{urlencode({'offset': offset})}" if offset else ""
    return {
        "history": history,
        "under_way": newest if newest and newest.under_way else None,
        "failed": newest if newest and newest.state == "Failed" else None,
        "last_done": last_done,
        "refused": refused,
        "poll_url": reverse("images:storage") + query,
        "gc_every_hours": settings.GC_EVERY_HOURS,
        "tidying": TIDYING,
    }


@api_login_required
@require_GET
def storage(request):
    """The page; htmx polls its body while a collection is under way, and stops after."""
    context = _context(request, _offset(request))
    if not request.htmx:
        return render(request, "images/storage.html", context)
    response = render(request, "images/_storage.html", context)
    if context["under_way"] is None:
        response.status_code = HttpResponseStopPolling.status_code
    return response


@api_login_required
@require_POST
def storage_tidy(request):
    """The "Tidy up now" button: htmx swaps in the page's body, which follows the run; a plain
    post goes back to the page. One already under way is said in words on the page."""
    refused = ""
    try:
        collection_service.start_collection(request.api)
    except Conflict as error:
        refused = error.message
    if request.htmx:
        return render(request, "images/_storage.html", _context(request, refused=refused))
    if refused:
        messages.info(request, refused)
    # Otherwise the page itself says that it is tidying up.
    return redirect("images:storage")
