"""Teams: make one, run it (members, roles, invitations), join by invitation or link.

Buttons a role cannot use are not shown; the API refuses them anyway (its message is shown).
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from images.forms.errors import place_api_errors
from images.forms.teams import (
    ROLE_RANK,
    ROLE_SENTENCES,
    RoleForm,
    TeamForm,
    TeamInviteForm,
    TeamSettingsForm,
    TeamTokenForm,
    role_losses,
)
from images.links import public_link
from images.services import audit as audit_service
from images.services import images as image_service
from images.services import teams as team_service
from images.services.http import Conflict, Invalid, Page
from images.session import api_login_required
from images.views.audit import action_labels, shown


@api_login_required
@require_http_methods(["GET", "POST"])
def teams(request):
    """Your teams and invitations for you; POST makes a team (you become its Owner)."""
    form = TeamForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            team = team_service.create_team(request.api, **form.cleaned_data)
        except Invalid as error:
            place_api_errors(error, form, {})
        else:
            messages.success(
                request,
                f"Team {team.name} is made and you are its Owner. Invite people below; images "
                f"pushed to …/{team.name}/ belong to the team.",
            )
            return redirect("images:team", team.name)
    context = {
        "teams": team_service.list_teams(request.api),
        "invitations": team_service.my_team_invitations(request.api),
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
    team = team_service.get_team(request.api, team_name)
    images = image_service.list_images(request.api, filters={"team": team_name}, limit=100)
    names = [image.name for image in images.items]
    context = {
        "team": team,
        "members": team_service.list_members(request.api, team_name),
        "images": images,
        "invitations": team_service.list_team_invitations(request.api, team_name)
        if team.is_owner
        else [],
        "invite_form": invite_form or TeamInviteForm(),
        "settings_form": settings_form
        or TeamSettingsForm(initial={"description": team.description}),
        "role_form": RoleForm(),
        "role_sentence": ROLE_SENTENCES.get(team.role or "", ""),
        "role_sentences": ROLE_SENTENCES.items(),
        "registry": image_service.our_registry(request.api),
        "tokens": [],
        "token_form": token_form or TeamTokenForm(),
    }
    context["token_form"].fields["images"].choices = [(name, name) for name in names]
    if team.is_owner:
        context["tokens"] = team_service.list_team_tokens(request.api, team_name)
        recent = audit_service.list_audit(request.api, filters={"team": team_name}, limit=10)
        labels = action_labels(audit_service.list_actions(request.api))
        context["activity"] = Page(
            [shown(e, labels) for e in recent.items], recent.total, recent.offset, recent.limit
        )
    return render(request, "images/team_detail.html", context, status=status)


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
            made = team_service.invite_to_team(request.api, team, role, username)
        except Invalid as error:
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
    team_service.cancel_team_invitation(request.api, team, invitation_id)
    messages.success(request, "The invitation is cancelled: it can no longer be accepted.")
    return redirect("images:team", team)


@api_login_required
@require_POST
def team_settings(request, team: str):
    form = TeamSettingsForm(request.POST)
    if form.is_valid():
        try:
            team_service.update_team(request.api, team, form.cleaned_data["description"])
        except Invalid as error:
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
    member = team_service.get_member(request.api, team, username)
    role = form.cleaned_data["role"]
    losses = role_losses(member.role, role)
    if losses and not form.cleaned_data["confirmed"]:
        context = {"team": team, "member": member, "role": role, "losses": losses}
        return render(request, "images/team_member_change.html", context)
    try:
        team_service.change_role(request.api, team, username, role)
    except Invalid as error:
        messages.error(request, error.fields.get("role", [error.message])[0])
    else:
        verb = "is now" if ROLE_RANK[role] > ROLE_RANK[member.role] else "is now only"
        messages.success(request, f"{username} {verb} a {role} in team {team}.")
    return redirect("images:team", team)


@api_login_required
@require_http_methods(["GET", "POST"])
def member_remove(request, team: str, username: str):
    """Removing someone (or leaving) asks first, saying what is lost at once."""
    member = team_service.get_member(request.api, team, username)
    leaving = username == request.api.username
    if request.method == "POST":
        try:
            team_service.remove_member(request.api, team, username)
        except Invalid as error:
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
    found = team_service.get_team(request.api, team)
    if request.method == "POST":
        try:
            team_service.delete_team(request.api, team)
        except Conflict as error:
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
    team_service.answer_team_invitation(request.api, invitation_id, accept=accept)
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
        invitation = team_service.open_team_link(request.api, token)
    except Invalid as error:
        reason = error.fields.get("token", [error.message])[0]
        return render(request, "images/team_join_gone.html", {"reason": reason}, status=410)
    if request.method == "POST":
        accept = request.POST.get("answer") == "accept"
        try:
            team_service.answer_team_link(request.api, token, accept=accept)
        except Invalid as error:
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
            made = team_service.make_team_token(
                request.api,
                team,
                name=data["name"],
                access=data["access"],
                expires=expires,
                images=data.get("images") or [],
            )
        except Invalid as error:
            place_api_errors(error, form, {"expires": "days"})
        else:
            registry = image_service.our_registry(request.api)
            login = _login_command(registry, made) if registry else ""
            context = {"team": team, "made": made, "registry": registry, "login_command": login}
            response = render(request, "images/team_token_made.html", context)
            response["Cache-Control"] = "no-store"
            return response
    return _team_page(request, team, token_form=form, status=400)


def _login_command(registry: image_service.Registry, made: team_service.NewTeamToken) -> str:
    tls = "" if registry.is_ssl else " --tls-verify=false"
    credentials = f"-u '{made.token.username}' -p '{made.secret}'"
    return f"buildah login{tls} {credentials} {registry.host}"


@api_login_required
@require_http_methods(["GET", "POST"])
def token_revoke(request, team: str, token_id: int):
    token = team_service.get_team_token(request.api, team, token_id)
    if request.method == "POST":
        team_service.revoke_team_token(request.api, team, token_id)
        messages.success(
            request, f"Token {token.username} is revoked: everything using it is refused now."
        )
        return redirect("images:team", team)
    return render(request, "images/team_token_revoke.html", {"team": team, "token": token})
