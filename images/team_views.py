"""Teams: make one, run it (members, roles, invitations), join by invitation or link.

Buttons a role cannot use are not shown; the API refuses them anyway (its message is shown).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from images import services
from images.forms import (
    ACTION_LABELS,
    ROLE_RANK,
    ROLE_SENTENCES,
    ActivityFilterForm,
    RoleForm,
    TeamForm,
    TeamInviteForm,
    TeamSettingsForm,
    TeamTokenForm,
    place_api_errors,
    role_losses,
)
from images.links import public_link
from images.services import Page
from images.session import api_login_required


@api_login_required
@require_http_methods(["GET", "POST"])
def teams(request):
    """Your teams and invitations for you; POST makes a team (you become its Owner)."""
    form = TeamForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            team = services.create_team(request.api, **form.cleaned_data)
        except services.Invalid as error:
            place_api_errors(error, form, {})
        else:
            messages.success(
                request,
                f"Team {team.name} is made and you are its Owner. Invite people below; images "
                f"pushed to …/{team.name}/ belong to the team.",
            )
            return redirect("images:team", team.name)
    context = {
        "teams": services.list_teams(request.api),
        "invitations": services.my_team_invitations(request.api),
        "form": form,
    }
    return render(request, "images/teams.html", context, status=400 if form.errors else 200)


def _team_page(
    request,
    team_name: str,
    *,
    invite_form=None,
    settings_form=None,
    token_form=None,
    status=200,
):
    team = services.get_team(request.api, team_name)
    images = services.list_images(request.api, filters={"team": team_name}, limit=100)
    names = [image.name for image in images.items]
    context = {
        "team": team,
        "members": services.list_members(request.api, team_name),
        "images": images,
        "invitations": services.list_team_invitations(request.api, team_name)
        if team.is_owner
        else [],
        "invite_form": invite_form or TeamInviteForm(),
        "settings_form": settings_form
        or TeamSettingsForm(initial={"description": team.description}),
        "role_form": RoleForm(),
        "role_sentence": ROLE_SENTENCES.get(team.role or "", ""),
        "role_sentences": ROLE_SENTENCES.items(),
        "registry": services.our_registry(request.api),
        "tokens": [],
        "token_form": token_form or TeamTokenForm(),
    }
    context["token_form"].fields["images"].choices = [(name, name) for name in names]
    if team.is_owner:
        context["tokens"] = services.list_team_tokens(request.api, team_name)
        recent = services.list_audit(request.api, filters={"team": team_name}, limit=10)
        context["activity"] = Page(
            [shown(e) for e in recent.items], recent.total, recent.offset, recent.limit
        )
    return render(request, "images/team_detail.html", context, status=status)


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


def shown(event: services.AuditEvent) -> ShownEvent:
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
        label=ACTION_LABELS.get(event.action, event.action),
        target=event.target,
        change=change,
        team=event.team,
        address=event.address,
    )


@api_login_required
def activity(request):
    """The audit trail the person may read, filtered in the query string."""
    owned = [team.name for team in services.list_teams(request.api) if team.is_owner]
    is_staff = bool(request.session.get("tutum_api", {}).get("is_staff"))
    form = ActivityFilterForm(request.GET or None, owned_teams=owned, is_staff=is_staff)
    filters = form.api_filters() if form.is_valid() else {}
    offset = (form.cleaned_data.get("offset") or 0) if form.is_bound and form.is_valid() else 0
    page = services.list_audit(request.api, filters=filters, offset=offset)
    context = {
        "form": form,
        "page": page,
        "events": [shown(e) for e in page.items],
        "query": urlencode(filters),
        "audit_days": settings.AUDIT_DAYS,
    }
    return render(request, "images/activity.html", context)


@api_login_required
def team_detail(request, team: str):
    return _team_page(request, team)


@api_login_required
@require_POST
def team_invite(request, team: str):
    form = TeamInviteForm(request.POST)
    if form.is_valid():
        username, role = form.cleaned_data["username"], form.cleaned_data["role"]
        try:
            made = services.invite_to_team(request.api, team, role, username)
        except services.Invalid as error:
            place_api_errors(error, form, {})
        else:
            if made.token is None:
                messages.success(
                    request,
                    f"{username} is invited as {role}: they accept on their Teams page.",
                )
                return redirect("images:team", team)
            link = public_link("images:team-join", made.token)
            context = {"team": team, "invitation": made.invitation, "link": link}
            response = render(request, "images/team_invitation_link.html", context)
            response["Cache-Control"] = "no-store"
            return response
    return _team_page(request, team, invite_form=form, status=400)


@api_login_required
@require_POST
def team_invitation_cancel(request, team: str, invitation_id: int):
    services.cancel_team_invitation(request.api, team, invitation_id)
    messages.success(request, "The invitation is cancelled: it can no longer be accepted.")
    return redirect("images:team", team)


@api_login_required
@require_POST
def team_settings(request, team: str):
    form = TeamSettingsForm(request.POST)
    if form.is_valid():
        try:
            services.update_team(request.api, team, form.cleaned_data["description"])
        except services.Invalid as error:
            place_api_errors(error, form, {})
        else:
            messages.success(request, "The team's description is saved.")
            return redirect("images:team", team)
    return _team_page(request, team, settings_form=form, status=400)


@api_login_required
@require_http_methods(["GET", "POST"])
def member_role(request, team: str, username: str):
    """A promotion happens at once; a demotion first says what the person loses."""
    form = RoleForm(request.POST or None)
    if request.method == "GET" or not form.is_valid():
        return redirect("images:team", team)
    member = services.get_member(request.api, team, username)
    role = form.cleaned_data["role"]
    losses = role_losses(member.role, role)
    if losses and not form.cleaned_data["confirmed"]:
        context = {"team": team, "member": member, "role": role, "losses": losses}
        return render(request, "images/team_member_change.html", context)
    try:
        services.change_role(request.api, team, username, role)
    except services.Invalid as error:
        messages.error(request, error.fields.get("role", [error.message])[0])
    else:
        verb = "is now" if ROLE_RANK[role] > ROLE_RANK[member.role] else "is now only"
        messages.success(request, f"{username} {verb} a {role} in team {team}.")
    return redirect("images:team", team)


@api_login_required
@require_http_methods(["GET", "POST"])
def member_remove(request, team: str, username: str):
    """Removing someone (or leaving) asks first, saying what is lost at once."""
    member = services.get_member(request.api, team, username)
    leaving = username == request.api.username
    if request.method == "POST":
        try:
            services.remove_member(request.api, team, username)
        except services.Invalid as error:
            messages.error(request, error.fields.get("username", [error.message])[0])
            return redirect("images:team", team)
        if leaving:
            messages.success(request, f"You left team {team}.")
            return redirect("images:teams")
        messages.success(request, f"{username} is no longer in team {team}.")
        return redirect("images:team", team)
    context = {
        "team": team,
        "member": member,
        "leaving": leaving,
        "losses": role_losses(member.role, None),
    }
    return render(request, "images/team_member_remove.html", context)


@api_login_required
@require_http_methods(["GET", "POST"])
def team_delete(request, team: str):
    found = services.get_team(request.api, team)
    if request.method == "POST":
        try:
            services.delete_team(request.api, team)
        except services.Conflict as error:
            messages.error(request, error.message)
            return redirect("images:team", team)
        messages.success(request, f"Team {team} is deleted.")
        return redirect("images:teams")
    return render(request, "images/team_delete.html", {"team": found})


@api_login_required
@require_POST
def invitation_answer(request, invitation_id: int):
    """Accept or decline an invitation addressed to you (from your Teams page)."""
    accept = request.POST.get("answer") == "accept"
    team = request.POST.get("team", "")
    services.answer_team_invitation(request.api, invitation_id, accept=accept)
    if accept:
        messages.success(request, f"You joined team {team}.")
        return redirect("images:team", team) if team else redirect("images:teams")
    messages.success(request, f"You declined the invitation to team {team}.")
    return redirect("images:teams")


@api_login_required
@require_http_methods(["GET", "POST"])
def team_join(request, token: str):
    """A link invitation: see what it is for, then accept or decline it."""
    try:
        invitation = services.open_team_link(request.api, token)
    except services.Invalid as error:
        reason = error.fields.get("token", [error.message])[0]
        return render(request, "images/team_join_gone.html", {"reason": reason}, status=410)
    if request.method == "POST":
        accept = request.POST.get("answer") == "accept"
        try:
            services.answer_team_link(request.api, token, accept=accept)
        except services.Invalid as error:
            messages.error(request, error.fields.get("token", [error.message])[0])
            return redirect("images:teams")
        if accept:
            messages.success(request, f"You joined team {invitation.team} as {invitation.role}.")
            return redirect("images:team", invitation.team)
        messages.success(request, f"You declined the invitation to team {invitation.team}.")
        return redirect("images:teams")
    context = {
        "invitation": invitation,
        "token": token,
        "role_sentence": ROLE_SENTENCES[invitation.role],
    }
    return render(request, "images/team_join.html", context)


@api_login_required
@require_POST
def token_new(request, team: str):
    """Make a team access token; its secret is on this answer only."""
    # The API checks that the images are the team's; the form only needs to accept them.
    form = TeamTokenForm(request.POST, image_names=request.POST.getlist("images"))
    if form.is_valid():
        data = form.cleaned_data
        expires = (timezone.now() + timedelta(days=data["days"])).isoformat()
        try:
            made = services.make_team_token(
                request.api,
                team,
                name=data["name"],
                access=data["access"],
                expires=expires,
                images=data.get("images") or [],
            )
        except services.Invalid as error:
            place_api_errors(error, form, {"expires": "days"})
        else:
            registry = services.our_registry(request.api)
            login = _login_command(registry, made) if registry else ""
            context = {"team": team, "made": made, "registry": registry, "login_command": login}
            response = render(request, "images/team_token_made.html", context)
            response["Cache-Control"] = "no-store"
            return response
    return _team_page(request, team, token_form=form, status=400)


def _login_command(registry: services.Registry, made: services.NewTeamToken) -> str:
    tls = "" if registry.is_ssl else " --tls-verify=false"
    credentials = f"-u '{made.token.username}' -p '{made.secret}'"
    return f"buildah login{tls} {credentials} {registry.host}"


@api_login_required
@require_http_methods(["GET", "POST"])
def token_revoke(request, team: str, token_id: int):
    token = services.get_team_token(request.api, team, token_id)
    if request.method == "POST":
        services.revoke_team_token(request.api, team, token_id)
        messages.success(
            request, f"Token {token.username} is revoked: everything using it is refused now."
        )
        return redirect("images:team", team)
    return render(request, "images/team_token_revoke.html", {"team": team, "token": token})
