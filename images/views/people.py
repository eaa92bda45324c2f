"""People: for staff, who is here, switching someone off or on, making someone staff,
invitations and reset links; for anyone, a reset link opened, an invitation accepted, signing
up and "Forgot your password?" (both joinings land the person signed in on Getting started)."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from images.forms.errors import place_api_errors
from images.forms.people import (
    ForgotPasswordForm,
    InviteForm,
    JoinForm,
    PasswordResetForm,
    SignUpForm,
)
from images.links import public_link
from images.services import accounts as account_service
from images.services import people as people_service
from images.services.http import Forbidden, Invalid, ServiceError, TooManyAttempts
from images.session import api_login_required, api_trouble_shown, browser_address, sign_in

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
    return _people_page(request, InviteForm())


def _people_page(request, invite_form: InviteForm, status: int = 200):
    try:
        offset = max(int(request.GET.get("offset", 0)), 0)
    except ValueError:
        offset = 0
    context = {
        "page": people_service.list_people(request.api, offset=offset),
        "invitations": people_service.list_invitations(request.api).items,
        "invite_form": invite_form,
    }
    return render(request, "images/people.html", context, status=status)


@api_login_required
@require_POST
def invite(request):
    form = InviteForm(request.POST)
    if form.is_valid():
        try:
            made = people_service.invite(request.api, form.cleaned_data["email"])
        except Invalid as error:
            place_api_errors(error, form, {})
        else:
            return _invitation_link(request, made)
    return _people_page(request, form, status=400)


@api_login_required
@require_POST
def invitation_resend(request, invitation_id: int):
    return _invitation_link(request, people_service.resend_invitation(request.api, invitation_id))


@api_login_required
@require_POST
def invitation_cancel(request, invitation_id: int):
    email = request.POST.get("email", "")
    people_service.cancel_invitation(request.api, invitation_id)
    messages.success(
        request,
        f"The invitation to {email or 'that address'} is cancelled: its link no longer works.",
    )
    return redirect("images:people")


def _invitation_link(request, made: people_service.NewInvitation):
    """The link, on this answer only: emailed or not, staff may hand it over themselves."""
    link = public_link("images:accept-invitation", made.token)
    context = {"made": made, "invitation": made.invitation, "link": link}
    response = render(request, "images/invitation_link.html", context)
    response["Cache-Control"] = "no-store"
    return response


@api_login_required
@require_http_methods(["GET", "POST"])
def person_deactivate(request, username: str):
    """Asks first: deactivating stops everything the person runs."""
    person = people_service.get_person(request.api, username)
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
        people_service.update_person(request.api, username, data)
    except Invalid as error:
        messages.error(request, error.message.split(": ", 1)[-1])
    else:
        messages.success(request, done.format(name=username))
    return redirect("images:people")


@api_login_required
@require_POST
def person_reset_link(request, username: str):
    """A link to hand over to someone who forgot their password (shown on this answer only)."""
    uid, token = people_service.make_reset_link(request.api, username)
    link = public_link("images:reset", uid, token)
    hours = round(settings.PASSWORD_RESET_TIMEOUT / 3600)
    response = render(
        request, "images/reset_link.html", {"username": username, "link": link, "hours": hours}
    )
    response["Cache-Control"] = "no-store"
    return response


@require_http_methods(["GET", "POST"])
def reset(request, uid: str, token: str):
    """Anyone with the link: choose a new password, then sign in with it."""
    form = PasswordResetForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            username = people_service.reset_password(uid, token, form.cleaned_data["new_password"])
        except Invalid as error:
            place_api_errors(error, form, {"token": None})
        except ServiceError as error:
            if error.maybe_saved:
                advice = "Your new password may have been set: try signing in with it first."
            else:
                advice = "Nothing was changed; try again in a moment."
            form.add_error(None, f"{error.message} {advice}")
        else:
            messages.success(request, f"Your password is set, {username}. Sign in with it now.")
            return redirect("images:login")
    return render(request, "images/reset.html", {"form": form})


@api_trouble_shown
@require_http_methods(["GET", "POST"])
def accept_invitation(request, token: str):
    try:
        invitation = people_service.open_invitation(token)
    except Invalid as error:
        # Expired, used or cancelled: say which, and what to do.
        return render(
            request, "images/invitation_gone.html", {"message": error.message}, status=400
        )
    form = JoinForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            username = people_service.accept_invitation(
                token, form.payload(), browser_address=browser_address(request)
            )
        except Invalid as error:
            place_api_errors(error, form, JoinForm.API_FIELDS)
        except TooManyAttempts as error:
            form.add_error(None, error.message)
        else:
            return _signed_in(request, username, form.cleaned_data["new_password"])
    context = {"form": form, "invitation": invitation}
    return render(request, "images/accept_invitation.html", context)


@api_trouble_shown
@require_http_methods(["GET", "POST"])
def signup(request):
    if not people_service.signup_open():
        raise Http404("Sign-up is off here: ask a staff member for an invitation.")
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            username = people_service.sign_up(
                form.payload(), browser_address=browser_address(request)
            )
        except Invalid as error:
            place_api_errors(error, form, SignUpForm.API_FIELDS)
        except (TooManyAttempts, Forbidden) as error:
            form.add_error(None, error.message)
        else:
            return _signed_in(request, username, form.cleaned_data["new_password"])
    return render(request, "images/signup.html", {"form": form})


def _signed_in(request, username: str, password: str):
    """Sign the new person in with what they just chose, straight onto Getting started."""
    try:
        creds = account_service.login(username, password, browser_address=browser_address(request))
    except ServiceError:
        messages.success(request, f"Your account {username} is ready. Sign in to start.")
        return redirect("images:login")
    sign_in(request, creds)
    messages.success(request, f"Welcome, {username}! Your account is ready.")
    return redirect("images:start")


@api_trouble_shown
@require_http_methods(["GET", "POST"])
def forgot_password(request):
    by_email = people_service.reset_by_email()
    form = ForgotPasswordForm(request.POST or None)
    answer = ""
    if by_email and request.method == "POST" and form.is_valid():
        try:
            answer = people_service.request_reset_email(
                form.cleaned_data["email"], browser_address=browser_address(request)
            )
        except (Invalid, TooManyAttempts) as error:
            form.add_error(None, error.message)
    context = {"form": form, "by_email": by_email, "answer": answer}
    return render(request, "images/forgot_password.html", context)
