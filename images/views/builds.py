"""Builds of a tag: the build button, the state badge polled while it builds, the history,
cancelling, and the log read piece by piece."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from images.services import builds as build_service
from images.services import images as image_service
from images.services.http import Conflict, Invalid
from images.session import api_login_required


def build_context(request, name: str, tag: str, *, can_write: bool) -> dict:
    """The tag's build history and its latest build with the start of its log; `can_write`:
    whether the person may build and cancel (else those buttons are not shown)."""
    history = build_service.list_builds(request.api, name, tag)
    latest = history.items[0] if history.items else None
    log = build_service.read_log(request.api, latest.uuid) if latest else None
    return {"history": history, "build": latest, "log": log, "can_write": can_write}


@api_login_required
@require_POST
def tag_build(request, name: str, tag: str):
    """Build button: htmx swaps in the Building badge (and the live log); a plain post
    redirects to the tag page."""
    try:
        build_service.start_build(request.api, name, tag)
    except (Conflict, Invalid) as error:
        if request.htmx:
            state = image_service.get_tag(request.api, name, tag).state
            context = {"name": name, "tag_name": tag, "state": state, "message": error.message}
            return render(request, "images/_build_refused.html", context)
        messages.error(request, error.message)
        return redirect("images:tag", name, tag)
    if not request.htmx:
        messages.success(request, f"Build of {name}:{tag} started.")
        return redirect("images:tag", name, tag)
    context = {"name": name, "tag_name": tag, "state": "Building"}
    if request.POST.get("where") == "page":
        context.update(build_context(request, name, tag, can_write=True), oob=True)
    return render(request, "images/_build_started.html", context)


@api_login_required
def tag_state(request, name: str, tag: str):
    """The state badge, polled while the tag builds; tells the page when the build ends."""
    tag_obj = image_service.get_tag(request.api, name, tag)
    response = render(
        request,
        "images/_tag_state.html",
        {"name": name, "tag_name": tag, "state": tag_obj.state},
    )
    if tag_obj.state != "Building":
        response["HX-Trigger"] = "build-finished"
    return response


@api_login_required
def build_history(request, name: str, tag: str):
    can_write = image_service.get_tag(request.api, name, tag).can_write
    context = {
        "name": name,
        "tag_name": tag,
        **build_context(request, name, tag, can_write=can_write),
    }
    return render(request, "images/_build_panel.html", context)


@api_login_required
@require_POST
def build_cancel(request, name: str, tag: str, uuid: str):
    """Cancel button: htmx swaps the build panel in; a plain post goes back to the tag page."""
    try:
        build_service.cancel_build(request.api, uuid)
        outcome = (messages.SUCCESS, f"The build of {name}:{tag} was cancelled.")
    except Conflict as error:
        outcome = (messages.INFO, error.message)
    if request.htmx:  # the panel shows the outcome itself
        built = build_context(request, name, tag, can_write=True)
        return render(request, "images/_build_panel.html", {"name": name, "tag_name": tag, **built})
    messages.add_message(request, *outcome)
    return redirect("images:tag", name, tag)


@api_login_required
def build_log(request, name: str, tag: str, uuid: str):
    """The next piece of a running build's log, appended by htmx; stops polling when done."""
    try:
        offset = max(int(request.GET.get("offset", 0)), 0)
    except ValueError:
        offset = 0
    log = build_service.read_log(request.api, uuid, offset)
    context = {"name": name, "tag_name": tag, "uuid": uuid, "log": log}
    if log.state != request.GET.get("shown"):
        # Queued → Building: the summary above the log changes too (once, not every poll).
        context["build"] = build_service.get_build(request.api, uuid)
        context["can_write"] = image_service.get_tag(request.api, name, tag).can_write
    return render(request, "images/_log_chunk.html", context)
