"""Deleting tags and the recycle bin ("Recently deleted"): what was deleted stays restorable
for RECYCLE_DAYS. Every page asks the API; it decides who may see and restore what."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from images.forms.bin import TagsDeleteForm
from images.services import accounts as account_service
from images.services import bin as bin_service
from images.services import collections as collection_service
from images.services import images as image_service
from images.services.http import Conflict, Forbidden, Invalid, NotFound
from images.session import api_login_required


@api_login_required
@require_http_methods(["GET", "POST"])
def tags_delete(request, name: str):
    """Confirm, then move the chosen tags to the recycle bin (all or none)."""
    source = request.POST if request.method == "POST" else request.GET
    form = TagsDeleteForm(source)
    if not form.is_valid():
        messages.error(request, form.errors["tag"][0])
        return redirect("images:detail", name)
    chosen = form.cleaned_data["tag"]
    if request.method == "POST":
        try:
            bin_service.delete_tags(request.api, name, chosen)
        except (Conflict, Invalid, NotFound) as error:
            messages.error(request, error.message)
            return redirect("images:detail", name)
        listed = ", ".join(chosen)
        messages.success(
            request,
            f"Deleted {listed}. You can restore {'it' if len(chosen) == 1 else 'them'} from "
            f"Recently deleted for {settings.RECYCLE_DAYS} days.",
        )
        return redirect("images:detail", name)
    image = image_service.get_image(request.api, name)
    # Tags on the same image as one being deleted keep pulling: say so, people worry.
    tags = [image_service.get_tag(request.api, name, tag) for tag in chosen]
    staying = {
        t.digest: t
        for t in image_service.list_tags(request.api, name, limit=100).items
        if t.digest and t.name not in chosen
    }
    context = {
        "image": image,
        "tags": tags,
        "shared": [(t, staying[t.digest]) for t in tags if t.digest in staying],
        "total": sum(t.size or 0 for t in tags),
        "recycle_days": settings.RECYCLE_DAYS,
    }
    return render(request, "images/tags_delete.html", context)


def _space(request) -> dict:
    """When deleted space comes back: the registry's next tidy-up; for staff, what the last one
    did (and a way to the Storage page, to tidy up now)."""
    staff = bool(request.session.get("tutum_api", {}).get("is_staff"))
    return {
        "staff_storage": staff,
        "last_tidied": collection_service.last_tidied(request.api) if staff else None,
        "gc_every_hours": settings.GC_EVERY_HOURS,
    }


def _offset(request) -> int:
    try:
        return max(int(request.GET.get("offset", 0)), 0)
    except ValueError:
        return 0


@api_login_required
def image_bin(request, name: str):
    """An image's recently deleted tags."""
    image = image_service.get_image(request.api, name)
    page = bin_service.image_bin(request.api, name, offset=_offset(request))
    context = {"image": image, "page": page, "recycle_days": settings.RECYCLE_DAYS}
    return render(request, "images/image_bin.html", {**context, **_space(request)})


@api_login_required
def recently_deleted(request):
    """Everything deleted that the person may restore, by namespace (theirs, their teams')."""
    account = account_service.get_account(request.api)
    namespace = request.GET.get("namespace", "")
    if namespace not in account.namespaces:
        namespace = ""
    page = bin_service.list_bin(request.api, namespace=namespace, offset=_offset(request))
    context = {
        "page": page,
        "namespace": namespace,
        "namespaces": account.namespaces,
        "recycle_days": settings.RECYCLE_DAYS,
        **_space(request),
    }
    return render(request, "images/recently_deleted.html", context)


def _back(request, entry: bin_service.BinEntry):
    """Where the restore or purge was asked from: the image's bin, else the namespace's."""
    if request.POST.get("from") == "image" and entry.image_exists:
        return redirect("images:image-bin", entry.image)
    return redirect("images:recently-deleted")


@api_login_required
@require_POST
def restore(request, entry_id: int):
    entry = bin_service.get_bin_entry(request.api, entry_id)
    try:
        restored = bin_service.restore(request.api, entry_id)
    except (Conflict, Forbidden) as error:
        messages.error(request, error.message)
        return _back(request, entry)
    if entry.kind == "image":
        count = len(restored.tags)
        messages.success(
            request, f"{restored.image} is back, with {count} tag{'s' if count != 1 else ''}."
        )
        return redirect("images:detail", restored.image)
    if entry.kind == "untagged":
        messages.success(
            request,
            f"The old version {entry.short_digest}… of {entry.image} is back: it pulls by its "
            f"digest, {entry.digest}, and no tag points to it.",
        )
        return redirect("images:image-bin", restored.image)
    messages.success(request, f"{entry.image}:{entry.tag} is back, with the same digest.")
    return redirect("images:tag", restored.image, entry.tag)


@api_login_required
@require_http_methods(["GET", "POST"])
def purge(request, entry_id: int):
    """Delete for good, before the bin would (Owners): asks first."""
    entry = bin_service.get_bin_entry(request.api, entry_id)
    if request.method == "POST":
        try:
            bin_service.purge(request.api, entry_id)
        except Forbidden as error:
            messages.error(request, error.message)
            return _back(request, entry)
        messages.success(
            request,
            f"{entry.label} is deleted for good; the registry frees its space when it next "
            "tidies up.",
        )
        return _back(request, entry)
    return render(request, "images/bin_purge.html", {"entry": entry, **_space(request)})
