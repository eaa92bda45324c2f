"""The admin's sign-in: the API key kept (encrypted) in the session, and the decorator every
page uses to get it and to turn API trouble into a page a person can read."""

from __future__ import annotations

from functools import wraps
from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpResponse
from django.middleware.csrf import rotate_token
from django.shortcuts import redirect, render
from django.urls import reverse
from django_htmx.http import HttpResponseClientRedirect

from images.services import accounts as account_service
from images.services.http import (
    ApiError,
    ApiUnavailable,
    Credentials,
    Forbidden,
    NotAuthenticated,
    NotFound,
    ServiceError,
    UpstreamUnavailable,
)
from lib import client_address, crypto

SESSION_KEY = "tutum_api"


def credentials(request) -> Credentials | None:
    stored = request.session.get(SESSION_KEY) or {}
    # Encrypted: the session table and its cache are files a backup or a leak can expose.
    key = crypto.decrypt(stored.get("key_encrypted", ""))
    if not key:
        return None
    return Credentials(
        username=stored["username"], key=key, browser_address=browser_address(request)
    )


def sign_in(request, creds: Credentials) -> None:
    """Keep these credentials in a new session (a fresh key and CSRF secret, so nothing from
    before signing in carries over)."""
    request.session.cycle_key()
    request.session.set_expiry(None)
    rotate_token(request)
    request.session[SESSION_KEY] = {
        "username": creds.username,
        "key_encrypted": crypto.encrypt(creds.key),
        # Only shows staff the People link; the API decides what staff may do.
        "is_staff": _is_staff(creds),
    }


def browser_address(request) -> str:
    """What our API counts sign-in failures and rate limits by (images.services vouches)."""
    return client_address.connection_address(request)


def _is_staff(creds: Credentials) -> bool:
    try:
        return account_service.get_account(creds).is_staff
    except ServiceError:
        # Another Tutum server has no account endpoint; nobody is staff there.
        return False


def to_login(request, next_url: str) -> HttpResponse:
    url = f"{reverse('images:login')}?{urlencode({'next': next_url})}"
    if request.htmx:
        return HttpResponseClientRedirect(url)
    return redirect(url)


def api_login_required(view):
    """Give the view `request.api` credentials; turn API trouble into a page a person reads."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        request.api = credentials(request)
        if request.api is None:
            return to_login(request, request.get_full_path())
        try:
            return view(request, *args, **kwargs)
        except NotAuthenticated:
            request.session.flush()
            messages.info(request, "Your session has ended. Please sign in again.")
            return to_login(request, request.get_full_path())
        except ServiceError as error:
            return api_trouble(request, error)

    return wrapper


def api_trouble_shown(view):
    """For pages anyone may open (joining, reset): API trouble is a page a person reads."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except ServiceError as error:
            return api_trouble(request, error)

    return wrapper


def api_trouble(request, error: ServiceError) -> HttpResponse:
    """The page for an API call the view did not handle itself."""
    if isinstance(error, NotFound):
        return render(request, "404.html", {"message": error.message}, status=404)
    if isinstance(error, Forbidden):
        return render(request, "403.html", {"message": error.message}, status=403)
    if not isinstance(error, (ApiUnavailable, UpstreamUnavailable, ApiError)):
        raise error
    # Our API answered but could not reach a registry: say that one, not that we are down.
    upstream = isinstance(error, UpstreamUnavailable)
    # htmx swaps only 2xx answers: the inline message must come back as 200.
    status = 200 if request.htmx else 502 if upstream else 503
    template = "_unavailable.html" if request.htmx else "unavailable.html"
    context = {"message": error.message, "maybe_saved": error.maybe_saved, "upstream": upstream}
    return render(request, template, context, status=status)


NEW_KEY = "new_api_key"


def hold_new_key(request, made: account_service.NewApiKey) -> None:
    """Keep a key just made, encrypted in the session, for the next page to show once."""
    request.session[NEW_KEY] = {
        "key_encrypted": crypto.encrypt(made.key),
        "label": made.api_key.label,
    }


def take_new_key(request) -> tuple[str, str]:
    """(key, label) held by `hold_new_key`, gone from the session once taken; ("", "") if none."""
    held = request.session.pop(NEW_KEY, None) or {}
    return crypto.decrypt(held.get("key_encrypted", "")), held.get("label", "")
