"""Your account in the web admin: your API keys and the commands that use them."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from images import services
from images.commands import registry_logins
from images.forms import (
    ApiKeyForm,
    GithubForm,
    PasswordChangeForm,
    ProfileForm,
    place_api_errors,
)
from images.session import api_login_required, hold_new_key, take_new_key


def _key_commands(request, key: str, registry: services.Registry | None) -> list[dict]:
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


def _reach(request) -> list[services.Reach]:
    """Everything the person reaches; another Tutum server cannot say."""
    try:
        return services.account_access(request.api)
    except (services.NotFound, services.ApiError):
        return []


def _account_page(request, **forms):
    new_key, new_key_label = take_new_key(request)
    person = services.get_account(request.api)
    keys = services.list_api_keys(request.api)
    context = {
        "person": person,
        "profile_form": forms.get("profile_form")
        or ProfileForm(initial={"display_name": person.display_name, "email": person.email}),
        "github_form": forms.get("github_form")
        or GithubForm(initial={"github_login": person.github_login}),
        "keys": keys,
        "form": forms.get("form") or ApiKeyForm(),
        "session_prefix": _session_key_prefix(request),
        "new_key": new_key,
        "new_key_label": new_key_label,
        "commands": _key_commands(request, new_key, services.our_registry(request.api))
        if new_key
        else [],
        "reach": _reach(request),
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
        made = services.create_api_key(
            request.api, form.cleaned_data["label"], form.cleaned_data["expires"]
        )
    except services.Invalid as error:
        place_api_errors(error, form, {"expires_in_days": "expires"})
        return _account_page(request, form=form)
    hold_new_key(request, made)
    return redirect(reverse("images:account") + "#new-key")


@api_login_required
@require_http_methods(["GET", "POST"])
def key_revoke(request, key_id: int):
    api_key = services.get_api_key(request.api, key_id)
    signs_out = api_key.prefix == _session_key_prefix(request)
    if request.method == "POST":
        services.revoke_api_key(request.api, key_id)
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
            ended = services.change_password(
                request.api,
                form.cleaned_data["current_password"],
                form.cleaned_data["new_password"],
            )
        except services.Invalid as error:
            place_api_errors(error, form, {})
        except services.TooManyAttempts as error:
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


def _save_account(request, form, form_name: str, done: str):
    if form.is_valid():
        try:
            services.update_account(request.api, form.payload())
        except services.Invalid as error:
            place_api_errors(error, form, {})
        else:
            messages.success(request, done)
            return redirect("images:account")
    return _account_page(request, **{form_name: form})
