"""Joining, for people not signed in: accepting an invitation or signing up (both land the
person signed in on Getting started), and "Forgot your password?"."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from images import services
from images.forms import ForgotPasswordForm, JoinForm, SignUpForm, place_api_errors
from images.session import api_trouble_shown, browser_address, sign_in


@api_trouble_shown
@require_http_methods(["GET", "POST"])
def accept_invitation(request, token: str):
    try:
        invitation = services.open_invitation(token)
    except services.Invalid as error:
        # Expired, used or cancelled: say which, and what to do.
        return render(
            request, "images/invitation_gone.html", {"message": error.message}, status=400
        )
    form = JoinForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            username = services.accept_invitation(
                token, form.payload(), browser_address=browser_address(request)
            )
        except services.Invalid as error:
            place_api_errors(error, form, JoinForm.API_FIELDS)
        except services.TooManyAttempts as error:
            form.add_error(None, error.message)
        else:
            return _signed_in(request, username, form.cleaned_data["new_password"])
    context = {"form": form, "invitation": invitation}
    return render(request, "images/accept_invitation.html", context)


@api_trouble_shown
@require_http_methods(["GET", "POST"])
def signup(request):
    if not services.signup_open():
        raise Http404("Sign-up is off here: ask a staff member for an invitation.")
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            username = services.sign_up(form.payload(), browser_address=browser_address(request))
        except services.Invalid as error:
            place_api_errors(error, form, SignUpForm.API_FIELDS)
        except (services.TooManyAttempts, services.Forbidden) as error:
            form.add_error(None, error.message)
        else:
            return _signed_in(request, username, form.cleaned_data["new_password"])
    return render(request, "images/signup.html", {"form": form})


def _signed_in(request, username: str, password: str):
    """Sign the new person in with what they just chose, straight onto Getting started."""
    try:
        creds = services.login(username, password, browser_address=browser_address(request))
    except services.ServiceError:
        messages.success(request, f"Your account {username} is ready. Sign in to start.")
        return redirect("images:login")
    sign_in(request, creds)
    messages.success(request, f"Welcome, {username}! Your account is ready.")
    return redirect("images:start")


@api_trouble_shown
@require_http_methods(["GET", "POST"])
def forgot_password(request):
    by_email = services.reset_by_email()
    form = ForgotPasswordForm(request.POST or None)
    answer = ""
    if by_email and request.method == "POST" and form.is_valid():
        try:
            answer = services.request_reset_email(
                form.cleaned_data["email"], browser_address=browser_address(request)
            )
        except (services.Invalid, services.TooManyAttempts) as error:
            form.add_error(None, error.message)
    context = {"form": form, "by_email": by_email, "answer": answer}
    return render(request, "images/forgot_password.html", context)
