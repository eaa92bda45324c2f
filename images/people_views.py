"""People, for staff: who is here, switching someone off or on, making someone staff."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from images import services
from images.session import api_login_required

CHANGES = {
    "deactivate": (
        {"is_active": False},
        "{name} is deactivated: their keys, sign-ins and registry logins stopped working.",
    ),
    "reactivate": (
        {"is_active": True},
        "{name} can sign in again (with new keys; old sign-ins stay ended).",
    ),
    "make-staff": ({"is_staff": True}, "{name} is staff now."),
    "remove-staff": ({"is_staff": False}, "{name} is no longer staff."),
}


@api_login_required
def people(request):
    try:
        offset = max(int(request.GET.get("offset", 0)), 0)
    except ValueError:
        offset = 0
    page = services.list_people(request.api, offset=offset)
    return render(request, "images/people.html", {"page": page})


@api_login_required
@require_http_methods(["GET", "POST"])
def person_deactivate(request, username: str):
    """Asks first: deactivating stops everything the person runs."""
    person = services.get_person(request.api, username)
    if request.method == "POST":
        return _change(request, username, "deactivate")
    return render(request, "images/person_deactivate.html", {"person": person})


@api_login_required
@require_POST
def person_change(request, username: str, change: str):
    if change not in CHANGES or change == "deactivate":
        return redirect("images:people")
    return _change(request, username, change)


def _change(request, username: str, change: str):
    data, done = CHANGES[change]
    try:
        services.update_person(request.api, username, data)
    except services.Invalid as error:
        messages.error(request, error.message.split(": ", 1)[-1])
    else:
        messages.success(request, done.format(name=username))
    return redirect("images:people")
