"""Signing in and out, a form sent with an out-of-date security token, and your account: your
profile, email notifications, password, API keys and the commands that use them."""

from __future__ import annotations

from contextlib import suppress
from dataclasses import asdict

from django.conf import settings
from django.contrib import messages
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRefresh

from images.commands import registry_logins
from images.forms.accounts import (
    ApiKeyForm,
    EmailNotificationsForm,
    GithubForm,
    LoginForm,
    PasswordChangeForm,
    ProfileForm,
)
from images.forms.errors import place_api_errors
from images.services import access as access_service
from images.services import accounts as account_service
from images.services import images as image_service
from images.services import people as people_service
from images.services.http import (
    ApiError,
    Invalid,
    NotAuthenticated,
    NotFound,
    ServiceError,
    TooManyAttempts,
)
from images.session import (
    SESSION_KEY,
    api_login_required,
    browser_address,
    credentials,
    hold_new_key,
    sign_in,
    take_new_key,
    to_login,
)
from images.views.two_factor import ask_for_code

SIGN_IN_PAGE_SESSION_AGE = 24 * 3600


@require_http_methods(["GET", "POST"])
def login_view(request):
    next_url = request.POST.get("next") or request.GET.get("next") or reverse("images:list")
    if not url_has_allowed_host_and_scheme(next_url, {request.get_host()}):
        next_url = reverse("images:list")
    form = LoginForm(request.POST or None)
    api_down = False
    # The sign-in form's CSRF secret makes a session for every visitor; a visitor who never
    # signs in needs it for a day, not for the signed-in SESSION_COOKIE_AGE.
    if SESSION_KEY not in request.session:
        request.session.set_expiry(SIGN_IN_PAGE_SESSION_AGE)
    if request.method == "POST" and form.is_valid():
        try:
            creds = account_service.login(
                form.cleaned_data["username"],
                form.cleaned_data["password"],
                browser_address=browser_address(request),
            )
        except account_service.SecondFactorNeeded as needed:
            return ask_for_code(request, needed, next_url)
        except (NotAuthenticated, TooManyAttempts) as error:
            form.add_error(None, error.message)
        except ServiceError as error:
            form.add_error(None, f"{error.message} Please try again in a moment.")
            api_down = True
        else:
            sign_in(request, creds)
            return redirect(next_url)
    # An API that just failed is not asked again for an optional link: one wait, not two.
    signup_open = not api_down and people_service.signup_open()
    context = {"form": form, "next": next_url, "signup_open": signup_open}
    return render(request, "login.html", context)


@require_POST
def logout_view(request):
    creds = credentials(request)
    if creds is not None:
        # The browser's copy of the credential goes with the session either way; ending it
        # on the API as well makes a stolen copy useless. An unreachable API must not keep
        # anyone signed in here, so its failure is not shown.
        with suppress(ServiceError):
            account_service.logout(creds)
    request.session.flush()
    messages.info(request, "You are signed out.")
    return redirect("images:login")


def csrf_failure(request, reason: str = ""):
    """A form sent with an out-of-date security token: nothing changed; say why, offer a way on.

    Happens when someone signed out in another tab (the token lives in the session) or a page
    was left open past its session. htmx ignores a 403, so it gets a reload or the sign-in page.
    """
    if request.path.startswith("/api/"):
        return JsonResponse({"error": "CSRF check failed; API calls need no cookies."}, status=403)
    signed_in = credentials(request) is not None
    if request.htmx:
        if not signed_in:
            return to_login(request, request.htmx.current_url_abs_path or reverse("images:list"))
        return HttpResponseClientRefresh()
    back = request.headers.get("Referer", "")
    if not url_has_allowed_host_and_scheme(back, {request.get_host()}):
        back = reverse("images:list")
    context = {"back": back, "signed_in": signed_in}
    return render(request, "csrf_failure.html", context, status=403)


def _key_commands(request, key: str, registry: image_service.Registry | None) -> list[dict]:
    """The lines a person pastes to use `key`, each with what it is for."""
    user = request.api.username
    api_url = settings.TUTUM_API_URL
    commands = []
    if registry is not None:
        logins = registry_logins(user, key, registry)
        commands += [
            {"title": "Log in to the registry with buildah or podman", "text": logins["buildah"]},
            {"title": "Log in to the registry with Docker", "text": logins["docker"]},
        ]
    commands += [
        {
            "title": "Use Tutum's command-line tool",
            "text": f"export TUTUM_USER={user} TUTUM_APIKEY={key} TUTUM_REST_HOST={api_url}",
        },
        {
            "title": "Call the API with curl",
            "text": f"curl -u {user}:{key} {api_url}/api/v1/image/",
        },
    ]
    return commands


def _session_key_prefix(request) -> str:
    """The first characters of the key this browser is signed in with."""
    return request.api.key[:8]


@api_login_required
def account(request):
    return _account_page(request)


def _reach(request) -> list[access_service.Reach]:
    """Everything the person reaches; another Tutum server cannot say."""
    try:
        return access_service.account_access(request.api)
    except (NotFound, ApiError):
        return []


def _two_factor(request) -> account_service.TwoFactor | None:
    """Whether sign-ins ask for a code; None from a Tutum server that has no such thing."""
    try:
        return account_service.two_factor(request.api)
    except (NotFound, ApiError):
        return None


def _account_page(request, **forms):
    new_key, new_key_label = take_new_key(request)
    person = account_service.get_account(request.api)
    keys = account_service.list_api_keys(request.api)
    context = {
        "person": person,
        "profile_form": forms.get("profile_form")
        or ProfileForm(initial={"display_name": person.display_name, "email": person.email}),
        "github_form": forms.get("github_form")
        or GithubForm(initial={"github_login": person.github_login}),
        "notifications_form": forms.get("notifications_form") or _notifications_form(person),
        "keys": keys,
        "form": forms.get("form") or ApiKeyForm(),
        "session_prefix": _session_key_prefix(request),
        "new_key": new_key,
        "new_key_label": new_key_label,
        "commands": _key_commands(request, new_key, image_service.our_registry(request.api))
        if new_key
        else [],
        "reach": _reach(request),
        "two_factor": _two_factor(request),
    }
    response = render(request, "images/account.html", context)
    if new_key:
        # The page shows a secret: no browser or proxy may keep a copy.
        response["Cache-Control"] = "no-store"
    return response


@api_login_required
@require_POST
def key_new(request):
    form = ApiKeyForm(request.POST)
    if not form.is_valid():
        return _account_page(request, form=form)
    try:
        made = account_service.create_api_key(
            request.api, form.cleaned_data["label"], form.cleaned_data["expires"]
        )
    except Invalid as error:
        place_api_errors(error, form, {"expires_in_days": "expires"})
        return _account_page(request, form=form)
    hold_new_key(request, made)
    return redirect(reverse("images:account") + "#new-key")


@api_login_required
@require_http_methods(["GET", "POST"])
def key_revoke(request, key_id: int):
    api_key = account_service.get_api_key(request.api, key_id)
    signs_out = api_key.prefix == _session_key_prefix(request)
    if request.method == "POST":
        account_service.revoke_api_key(request.api, key_id)
        name = f"“{api_key.label}”" if api_key.label else f"{api_key.prefix}…"
        if signs_out:
            request.session.flush()
            messages.info(
                request,
                f"Key {name} is revoked. This browser was signed in with it, so sign in again.",
            )
            return redirect("images:login")
        messages.success(request, f"Key {name} is revoked: anything still using it is refused.")
        return redirect("images:account")
    return render(request, "images/key_revoke.html", {"api_key": api_key, "signs_out": signs_out})


@api_login_required
@require_http_methods(["GET", "POST"])
def password_change(request):
    form = PasswordChangeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            ended = account_service.change_password(
                request.api,
                form.cleaned_data["current_password"],
                form.cleaned_data["new_password"],
            )
        except Invalid as error:
            place_api_errors(error, form, {})
        except TooManyAttempts as error:
            form.add_error(None, error.message)
        else:
            elsewhere = (
                f" {ended} other browser{'s were' if ended != 1 else ' was'} signed out."
                if ended
                else ""
            )
            messages.success(request, f"Your password is changed.{elsewhere}")
            return redirect("images:account")
    return render(request, "images/password_change.html", {"form": form})


@api_login_required
@require_POST
def profile_save(request):
    return _save_account(
        request, ProfileForm(request.POST), "profile_form", "Your profile is saved."
    )


@api_login_required
@require_POST
def github_save(request):
    form = GithubForm(request.POST)
    return _save_account(request, form, "github_form", "Your GitHub account is saved.")


def _notifications_form(person: account_service.Account) -> EmailNotificationsForm | None:
    """The boxes as the person left them; None when the API offers no notifications."""
    if person.email_notifications is None:
        return None
    return EmailNotificationsForm(initial=asdict(person.email_notifications))


@api_login_required
@require_POST
def notifications_save(request):
    """ "Email me when…": htmx swaps the section in with its outcome; a plain post goes back to
    the page."""
    form = EmailNotificationsForm(request.POST)
    person = None
    if form.is_valid():
        try:
            person = account_service.update_account(request.api, form.payload())
        except Invalid as error:
            place_api_errors(error, form, {f"email_notifications.{n}": n for n in form.fields})
    if request.htmx:
        context = {
            "person": person or account_service.get_account(request.api),
            "notifications_form": form if person is None else _notifications_form(person),
            "saved": person is not None,
        }
        return render(request, "images/_email_notifications.html", context)
    if person is None:
        return _account_page(request, notifications_form=form)
    messages.success(request, "Your email notifications are saved.")
    return redirect(reverse("images:account") + "#email-notifications")


def _save_account(request, form, form_name: str, done: str):
    if form.is_valid():
        try:
            account_service.update_account(request.api, form.payload())
        except Invalid as error:
            place_api_errors(error, form, {})
        else:
            messages.success(request, done)
            return redirect("images:account")
    return _account_page(request, **{form_name: form})
