"""Cleanup policies in the admin: fill in the rules, read what they would remove, then save.

Saving is only offered under a preview of the same rules, and a policy that would remove
every tag of an image needs a second, explicit confirmation.
"""

from __future__ import annotations

import json

from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from images.forms.policies import CleanupPolicyForm
from images.services import images as image_service
from images.services import policies as policy_service
from images.services.http import Invalid
from images.session import api_login_required


def fingerprint(form: CleanupPolicyForm) -> str:
    return json.dumps(form.rules(), sort_keys=True)


def _policy_page(request, *, image: str = "", namespace: str = ""):
    scope = {"image": image} if image else {"namespace": namespace}
    current = policy_service.get_policy(request.api, **scope)
    preview = None
    if request.method == "POST":
        form = CleanupPolicyForm(request.POST)
        action = request.POST.get("action", "preview")
        if form.is_valid():
            try:
                if action == "remove":
                    policy_service.delete_policy(request.api, **scope)
                    messages.success(request, "The cleanup policy is off; nothing more goes.")
                    return redirect(request.path)
                preview = policy_service.preview_policy(request.api, form.rules(), **scope)
                # Saving is for the rules whose preview the person has read: changed since,
                # they see the new preview first.
                if action == "save" and request.POST.get("previewed") != fingerprint(form):
                    messages.info(request, "The rules changed: here is what they remove now.")
                elif action == "save":
                    body = {
                        **form.rules(),
                        "enabled": form.cleaned_data["enabled"],
                        "confirm_empty": form.cleaned_data["confirm_empty"],
                    }
                    policy_service.save_policy(request.api, body, **scope)
                    messages.success(request, "Saved. It runs once a day.")
                    return redirect(request.path)
            except Invalid as error:
                form.apply_api_errors(error)
    else:
        form = CleanupPolicyForm(initial=CleanupPolicyForm.initial_from(current.policy))
    context = {
        "form": form,
        "fingerprint": fingerprint(form) if preview is not None else "",
        "current": current,
        "preview": preview,
        "image_name": image,
        "namespace": namespace,
        "recycle_days": settings.RECYCLE_DAYS,
    }
    return render(request, "images/cleanup_policy.html", context)


@api_login_required
@require_http_methods(["GET", "POST"])
def image_policy(request, name: str):
    image_service.get_image(request.api, name)  # a 404 page for an image you cannot see
    return _policy_page(request, image=name)


@api_login_required
@require_http_methods(["GET", "POST"])
def namespace_policy(request, namespace: str):
    return _policy_page(request, namespace=namespace)
