"""The activity page: the audit trail the person may read, and how its rows read."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from django.conf import settings
from django.shortcuts import render

from images.forms.audit import ActivityFilterForm
from images.services import audit as audit_service
from images.services import teams as team_service
from images.session import api_login_required


@dataclass(frozen=True)
class ShownEvent:
    """An audit event as the activity tables show it."""

    time: object
    actor: str
    actor_kind: str
    label: str
    target: str
    change: str
    team: str | None
    address: str


def action_labels(actions: list[audit_service.Action]) -> dict[str, str]:
    """What each action's rows say, as the API words it (audit_service.list_actions)."""
    return {action.action: action.label for action in actions}


def shown(event: audit_service.AuditEvent, labels: dict[str, str]) -> ShownEvent:
    """`labels`: action_labels(); an action the API did not name shows its code."""
    details = event.details
    if event.action == "member.role":
        change = f"{details.get('old')} → {details.get('new')}"
    elif event.action == "image.visibility":
        change = "now private" if details.get("private") else "now public"
    elif "role" in details:
        change = f"as {details['role']}"
    elif event.action == "token.create":
        change = "pull and push" if details.get("access") == "push" else "pull"
    else:
        change = ""
    return ShownEvent(
        time=event.time,
        actor=event.actor,
        actor_kind=event.actor_kind,
        label=labels.get(event.action, event.action),
        target=event.target,
        change=change,
        team=event.team,
        address=event.address,
    )


@api_login_required
def activity(request):
    """The audit trail the person may read, filtered in the query string."""
    owned = [team.name for team in team_service.list_teams(request.api) if team.is_owner]
    is_staff = bool(request.session.get("tutum_api", {}).get("is_staff"))
    actions = audit_service.list_actions(request.api)
    form = ActivityFilterForm(
        request.GET or None, owned_teams=owned, is_staff=is_staff, actions=actions
    )
    filters = form.api_filters() if form.is_valid() else {}
    offset = (form.cleaned_data.get("offset") or 0) if form.is_bound and form.is_valid() else 0
    page = audit_service.list_audit(request.api, filters=filters, offset=offset)
    labels = action_labels(actions)
    context = {
        "form": form,
        "page": page,
        "events": [shown(e, labels) for e in page.items],
        "query": urlencode(filters),
        "audit_days": settings.AUDIT_DAYS,
    }
    return render(request, "images/activity.html", context)
