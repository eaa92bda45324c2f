"""Two-factor sign-in in the admin: the code asked after the password, and setting it up,
renewing recovery codes and turning it off on Your account (all through the API)."""

from __future__ import annotations

import segno
from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_http_methods, require_POST

from images.forms.accounts import CodeForm
from images.forms.errors import place_api_errors
from images.services import accounts as account_service
from images.services.http import Conflict, Invalid, ServiceError, TooManyAttempts
from images.session import api_login_required, browser_address, sign_in

# Where the sign-in's first step leaves its challenge for the second, in this browser's session.
PENDING = "second_factor"


def ask_for_code(request, needed: account_service.SecondFactorNeeded, next_url: str):
    """The password was right: remember the challenge and ask for the code."""
    request.session[PENDING] = {"challenge": needed.challenge, "next": next_url}
    return redirect("images:login-code")


@require_http_methods(["GET", "POST"])
def login_code(request):
    pending = request.session.get(PENDING)
    if not pending:
        messages.info(request, "Sign in with your username and password first.")
        return redirect("images:login")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            creds = account_service.complete_login(
                pending["challenge"],
                form.cleaned_data["code"],
                browser_address=browser_address(request),
            )
        except Invalid as error:
            if "challenge" in (error.fields or {}):
                request.session.pop(PENDING, None)
                messages.error(request, error.fields["challenge"][0])
                return redirect("images:login")
            place_api_errors(error, form, {})
        except TooManyAttempts as error:
            form.add_error(None, error.message)
        except ServiceError as error:
            form.add_error(None, f"{error.message} Please try again in a moment.")
        else:
            request.session.pop(PENDING, None)
            sign_in(request, creds)
            next_url = pending.get("next") or reverse("images:list")
            if not url_has_allowed_host_and_scheme(next_url, {request.get_host()}):
                next_url = reverse("images:list")
            return redirect(next_url)
    return render(request, "login_code.html", {"form": form})


@api_login_required
@require_POST
def two_factor_begin(request):
    try:
        setup = account_service.two_factor_begin(request.api)
    except Conflict as error:
        messages.info(request, error.message)
        return redirect("images:account")
    return _setup_page(request, setup, CodeForm(recovery=False))


def _setup_page(request, setup, form):
    # Black on white whatever the page's colours: phones' cameras read that best.
    qr = segno.make(setup.uri, error="m").svg_inline(scale=5, dark="#000", light="#fff")
    context = {"setup": setup, "qr": mark_safe(qr), "form": form}  # noqa: S308 - segno's SVG
    response = render(request, "images/two_factor_setup.html", context)
    response["Cache-Control"] = "no-store"
    return response


@api_login_required
@require_POST
def two_factor_confirm(request):
    form = CodeForm(request.POST, recovery=False)
    setup = account_service.TwoFactorSetup(
        request.POST.get("secret", ""), request.POST.get("uri", "")
    )
    if form.is_valid():
        try:
            codes = account_service.two_factor_confirm(request.api, form.cleaned_data["code"])
        except Invalid as error:
            place_api_errors(error, form, {})
        except Conflict as error:
            messages.error(request, error.message)
            return redirect("images:account")
        else:
            return _codes_page(request, codes, turned_on=True)
    return _setup_page(request, setup, form)


def _codes_page(request, codes: list[str], *, turned_on: bool):
    response = render(
        request, "images/two_factor_codes.html", {"codes": codes, "turned_on": turned_on}
    )
    response["Cache-Control"] = "no-store"
    return response


@api_login_required
@require_http_methods(["GET", "POST"])
def two_factor_codes(request):
    form = CodeForm(request.POST or None, recovery=False)
    if request.method == "POST" and form.is_valid():
        try:
            codes = account_service.two_factor_new_codes(request.api, form.cleaned_data["code"])
        except (Invalid, Conflict) as error:
            _place(form, error)
        else:
            return _codes_page(request, codes, turned_on=False)
    return render(request, "images/two_factor_change.html", {"form": form, "turning_off": False})


@api_login_required
@require_http_methods(["GET", "POST"])
def two_factor_off(request):
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            account_service.two_factor_off(request.api, form.cleaned_data["code"])
        except (Invalid, Conflict) as error:
            _place(form, error)
        else:
            messages.success(
                request, "Two-factor sign-in is off: your password alone signs you in again."
            )
            return redirect("images:account")
    return render(request, "images/two_factor_change.html", {"form": form, "turning_off": True})


def _place(form, error) -> None:
    if isinstance(error, Invalid):
        place_api_errors(error, form, {})
    else:
        form.add_error(None, error.message)
