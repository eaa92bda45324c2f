"""Getting started: a person's own first push, step by step, noticed when it arrives."""

from __future__ import annotations

from urllib.parse import urlencode

from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseStopPolling

from images.commands import registry_logins, tls_flag
from images.forms.start import FirstImageForm
from images.services import accounts as account_service
from images.services import images as image_service
from images.services.http import NotFound
from images.session import api_login_required, hold_new_key, take_new_key


def _app(request) -> tuple[FirstImageForm, str]:
    form = FirstImageForm(request.GET or None)
    return form, form.cleaned_data["app"] if form.is_valid() else "myapp"


def _steps(user: str, registry: image_service.Registry, app: str, key: str) -> dict:
    """The commands, in the order a person runs them, for Docker and for buildah/podman."""
    host = registry.host
    name = f"{host}/{user}/{app}"
    tls = tls_flag(registry)
    logins = registry_logins(user, key or "<your API key>", registry)
    return {
        "name": name,
        "docker": {
            "login": logins["docker"],
            "tag": f"docker tag {app} {name}",
            "push": f"docker push {name}",
            "pull": f"docker pull {name}",
        },
        "buildah": {
            "login": logins["buildah"],
            "tag": f"buildah tag {app} {name}",
            "push": f"buildah push{tls} {name}",
            "pull": f"buildah pull{tls} {name}",
        },
        # Docker refuses plain HTTP except on this machine unless told the registry is fine.
        "docker_needs_insecure": not registry.is_ssl
        and not host.startswith(("127.", "localhost", "[::1]")),
    }


def _pushed(request, name: str) -> image_service.Image | None:
    try:
        return image_service.get_image(request.api, name)
    except NotFound:
        return None


@api_login_required
def getting_started(request):
    form, app = _app(request)
    key, _ = take_new_key(request)
    registry = image_service.our_registry(request.api)
    context = {"form": form, "app": app, "key": key, "registry": registry}
    if registry is not None:
        steps = _steps(request.api.username, registry, app, key)
        context.update(steps=steps, pushed=_pushed(request, steps["name"]))
    response = render(request, "images/getting_started.html", context)
    if key:
        response["Cache-Control"] = "no-store"
    return response


@api_login_required
def first_push(request):
    """Polled by the page until the image arrives; then it links to it and stops polling."""
    name = request.GET.get("name", "")
    pushed = _pushed(request, name) if name else None
    response = render(request, "images/_first_push.html", {"pushed": pushed, "name": name})
    if pushed is not None and request.htmx:
        response.status_code = HttpResponseStopPolling.status_code
    return response


@api_login_required
@require_POST
def start_key(request):
    """Make a key for this computer and show it (once) in the commands."""
    form = FirstImageForm(request.POST)
    app = form.cleaned_data["app"] if form.is_valid() else "myapp"
    made = account_service.create_api_key(request.api, "Getting started", None)
    hold_new_key(request, made)
    return redirect(f"{reverse('images:start')}?{urlencode({'app': app})}#step-login")
