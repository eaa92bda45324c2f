"""Images and their tags: the list, finding one by name, an image's and a tag's page,
registering, editing and deleting an image."""

from __future__ import annotations

import re
from contextlib import suppress
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.core.cache import cache
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods
from django_htmx.http import HttpResponseClientRedirect

from images.forms.images import (
    BuildSettingFormSet,
    DeleteForm,
    ImageFilterForm,
    ImageForm,
    apply_api_errors,
    image_payload,
    initial_for,
)
from images.services import access as access_service
from images.services import accounts as account_service
from images.services import builds as build_service
from images.services import images as image_service
from images.services.http import ApiError, Conflict, Credentials, Forbidden, Invalid, NotFound, Page
from images.session import api_login_required
from images.views.builds import build_context

SETTINGS_PREFIX = "settings"

TYPED_TAG = re.compile(r"(.+)/tags/([^/]+)")


@api_login_required
def find_by_name(request, typed: str):
    """/images/<name>/ as people type or paste it (without /-/): to its page. `<name>:<tag>`
    and `<name>/tags/<tag>` go to the tag's page, unless an image has that very name."""
    name, tag = typed, None
    head, slash, last = typed.rpartition("/")
    if ":" in last:
        repository, tag = last.split(":", 1)
        name = f"{head}{slash}{repository}"
    elif (found := TYPED_TAG.fullmatch(typed)) and not _exists(request.api, typed):
        name, tag = found.groups()
    if tag:
        return redirect("images:tag", name, tag)
    return redirect("images:detail", name)


def _exists(creds: Credentials, name: str) -> bool:
    try:
        image_service.get_image(creds, name)
    except NotFound:
        return False
    return True


PAGER_KEYS = ("offset", "after", "before")


@api_login_required
def image_list(request):
    form = ImageFilterForm(request.GET)
    if not form.is_valid():
        form = ImageFilterForm({})
        form.is_valid()
    data = form.cleaned_data
    listing = {
        "search": data["q"],
        "filters": form.api_filters(),
        "order": data["sort"] or "name",
        "offset": data["offset"] or 0,
    }
    cursor_gone = False
    try:
        page = image_service.list_images(
            request.api, **listing, after=data["after"], before=data["before"]
        )
    except Invalid:
        if not (data["after"] or data["before"]):
            raise
        # In build-date order a page starts from an image, which may have been deleted
        # (or hidden) since the link was made: the list from its start, saying why.
        cursor_gone = True
        page = image_service.list_images(request.api, **listing)
    query = {k: v for k, v in request.GET.items() if k not in PAGER_KEYS and v}
    previous_query, next_query = _pager(query, page)
    context = {
        "form": form,
        "page": page,
        "previous_query": previous_query,
        "next_query": next_query,
        "cursor_gone": cursor_gone,
        "filtered": bool(query.keys() - {"sort"}),
        # How many filters besides the search are on: they stay unfolded on a phone.
        "more_filters": len(query.keys() - {"sort", "q"}),
    }
    if request.htmx and not request.htmx.boosted:
        return render(request, "images/_image_rows.html", context)
    context["registries"] = registries(request)
    return render(request, "images/image_list.html", context)


def _pager(query: dict, page: Page, prefix: str = "") -> tuple[str, str]:
    """The query strings of the previous and the next page ("": none). They go on from the
    first or last item shown (an image in any order, a tag by name), so the API finds the page
    in an index wherever it is; a deep offset would read every row before it. `prefix` names
    the keys apart on a page with two lists (the image page's tags: tbefore, tafter)."""
    previous = following = None
    if page.items:
        if page.has_previous:
            previous = {**query, f"{prefix}before": page.items[0].name}
        if page.has_next:
            following = {**query, f"{prefix}after": page.items[-1].name}
    return urlencode(previous or {}), urlencode(following or {})


def registries(request) -> list[image_service.Registry]:
    # Registries change rarely; the list need not cost an API call per page view.
    return cache.get_or_set(
        f"registries:{request.api.username}", lambda: image_service.list_registries(request.api), 60
    )


def on_our_registry(request, name: str) -> bool:
    """Tags are deleted (to the recycle bin) only on our registry; others keep their own."""
    return any(r.is_ours and name.startswith(r.host + "/") for r in registries(request))


def _tag_page(request, name: str) -> tuple[Page, str, str, str]:
    """The image page's tags: (page, search, the previous and the next page's query strings).
    Paged from the first or last tag name shown (_pager), so the page after 90,000 tags costs
    what the first does. The names are tag names (at most 128)."""
    search = request.GET.get("tq", "").strip()[:128]
    after = request.GET.get("tafter", "")[:128]
    before = "" if after else request.GET.get("tbefore", "")[:128]
    page = image_service.list_tags(request.api, name, search=search, after=after, before=before)
    return page, search, *_pager({"tq": search} if search else {}, page, prefix="t")


# The image page's sections below its tags, loaded when scrolled to (htmx `revealed`): the
# page itself makes only the calls of its first screen. `?everything=1` (the pages' links
# without JavaScript) makes them all at once.
LATER_SECTIONS = ("access", "webhook")


@api_login_required
def image_detail(request, name: str):
    section = request.GET.get("section")
    if section in LATER_SECTIONS:
        return _later_section(request, name, section)
    tags, tag_search, tags_previous, tags_next = _tag_page(request, name)
    ours = on_our_registry(request, name)
    context = {
        "tags": tags,
        "tag_search": tag_search,
        "tags_previous": tags_previous,
        "tags_next": tags_next,
        "name": name,
        "on_our_registry": ours,
        "tags_deletable": ours and any(t.can_write for t in tags.items),
    }
    if request.htmx and request.htmx.target == "tag-rows":
        return render(request, "images/_tag_rows.html", context)
    image = image_service.get_image(request.api, name)
    everything = request.GET.get("everything") == "1"
    context.update(image=image, pull_command=pull_command(image), lazy=not everything)
    if everything:
        # A team's image only: a person's own image is theirs, staff's, and everyone's when
        # public, nothing to look up. Only those who may change it see the webhook.
        if image.team:
            context["access"] = _access(request, name)
        if image.can_write and image.build_source and image.build_source.build_settings:
            context["webhook"] = _webhook(request, name)
    return render(request, "images/image_detail.html", context)


def _access(request, name: str) -> list:
    """Who reaches a team's image: its members are told (the API tells nobody else)."""
    with suppress(ApiError, NotFound, Forbidden):
        return access_service.image_access(request.api, name)
    return []


def _webhook(request, name: str):
    """The build webhook's URL and secret: for those who may change the image."""
    with suppress(ApiError, NotFound, Forbidden):
        return build_service.get_webhook(request.api, name)
    return None


def _later_section(request, name: str, section: str):
    """One of LATER_SECTIONS, as the page's placeholder asks for it (empty: not for you)."""
    if section == "access":
        context = {"name": name, "access": _access(request, name)}
        return render(request, "images/_image_access.html", context)
    return render(request, "images/_build_webhook.html", {"webhook": _webhook(request, name)})


def pull_command(image: image_service.Image) -> str:
    """`docker pull` defaults to :latest, so name a tag that exists when latest doesn't."""
    if image.pull_tag and image.pull_tag != "latest":
        return f"docker pull {image.name}:{image.pull_tag}"
    return f"docker pull {image.name}"


def docker_run_command(tag: image_service.Tag, image_name: str) -> str:
    parts = ["docker run -d"]
    layer = tag.layer
    if layer:
        for port in layer.ports:
            suffix = "/udp" if port.protocol == "udp" else ""
            parts.append(f"-p {port.port}:{port.port}{suffix}")
        base = image_name.rsplit("/", 1)[-1]
        for index, path in enumerate(layer.volumes):
            parts.append(f"-v {base}-data{index or ''}:{path}")
    parts.append(tag.full_name)
    return " ".join(parts)


@api_login_required
def tag_detail(request, name: str, tag: str):
    tag_obj = image_service.get_tag(request.api, name, tag)
    context = {
        "name": name,
        "tag": tag_obj,
        "run_command": docker_run_command(tag_obj, name),
        # By digest, so it pulls this very image even after the tag moves on.
        "pull_command": f"docker pull {name}@{tag_obj.digest}" if tag_obj.digest else "",
    }
    if tag_obj.buildable:  # only tags with a build setting are built here
        context.update(build_context(request, name, tag, can_write=tag_obj.can_write))
    return render(request, "images/tag_detail.html", context)


def _rows_from_post(post) -> list[dict]:
    rows = []
    total = int(post.get(f"{SETTINGS_PREFIX}-TOTAL_FORMS") or 0)
    for index in range(min(total, 100)):
        prefix = f"{SETTINGS_PREFIX}-{index}-"
        rows.append(
            {
                "tag": post.get(prefix + "tag", ""),
                "branch": post.get(prefix + "branch", ""),
                "dockerfile": post.get(prefix + "dockerfile", "/"),
                "autobuild": post.get(prefix + "autobuild") in ("on", "true", "True"),
            }
        )
    return rows


def _namespace_options(request) -> dict:
    """Where the person may add images (their namespace and their teams'), for the form's
    suggestions and its "Owned by" choice; another Tutum server has no such list."""
    try:
        namespaces = account_service.get_account(request.api).namespaces
        registry = image_service.our_registry(request.api)
    except (NotFound, ApiError):
        return {"namespaces": [request.api.username]}
    return {"namespaces": namespaces, "registry_host": registry.host if registry else ""}


def _image_form_page(request, image: image_service.Image | None):
    """Register (image None) or edit; adding/removing setting rows re-renders the form."""
    editing = image is not None
    template = "images/_image_form.html" if request.htmx else "images/image_form.html"
    context = {"image": image, "editing": editing}
    if editing:
        options = {"editing": True}
    elif request.method == "POST" and not ({"add_row", "remove_row"} & request.POST.keys()):
        # The API checks the team; asking for the list first would be one more call that
        # could fail before the change is even sent.
        posted = request.POST.get("team", "")
        options = {"namespaces": [request.api.username, *([posted] if posted else [])]}
    else:
        options = _namespace_options(request)
    if request.method == "GET":
        initial, rows = initial_for(image) if editing else ({"autotests": "OFF"}, [])
        form = ImageForm(initial=initial, **options)
        formset = BuildSettingFormSet(initial=rows, prefix=SETTINGS_PREFIX)
        return render(request, template, {**context, "form": form, "formset": formset})
    if "add_row" in request.POST or "remove_row" in request.POST:
        rows = _rows_from_post(request.POST)
        if "add_row" in request.POST:
            rows.append({"tag": "", "branch": "", "dockerfile": "/", "autobuild": False})
        else:
            index = request.POST.get("remove_row", "")
            if index.isdigit() and int(index) < len(rows):
                rows.pop(int(index))
        initial = {k: v for k, v in request.POST.items() if k in ImageForm.base_fields}
        initial.pop("password", None)
        initial.pop("source_token", None)
        form = ImageForm(initial=initial, **options)
        formset = BuildSettingFormSet(initial=rows, prefix=SETTINGS_PREFIX)
        return render(request, template, {**context, "form": form, "formset": formset})
    form = ImageForm(request.POST, **options)
    formset = BuildSettingFormSet(request.POST, prefix=SETTINGS_PREFIX)
    has_rows = formset.is_valid() and any(f.cleaned_data for f in formset.forms)
    if form.is_valid() and has_rows and not form.cleaned_data["source_owner"]:
        form.add_error("source_owner", "Build settings need a repository to build from.")
    if form.is_valid() and formset.is_valid():
        body = image_payload(form, formset, creating=not editing)
        try:
            if editing:
                saved = image_service.update_image(request.api, image.name, body)
            else:
                saved = image_service.register_image(request.api, body)
        except Invalid as error:
            apply_api_errors(error, form, formset)
        except Conflict as error:
            form.add_error("name" if not editing else None, error.message)
        else:
            verb = "saved" if editing else "registered"
            messages.success(request, f"{saved.name} was {verb}.")
            url = reverse("images:detail", args=[saved.name])
            return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
    return render(request, template, {**context, "form": form, "formset": formset})


@api_login_required
@require_http_methods(["GET", "POST"])
def image_new(request):
    return _image_form_page(request, None)


@api_login_required
@require_http_methods(["GET", "POST"])
def image_edit(request, name: str):
    return _image_form_page(request, image_service.get_image(request.api, name))


@api_login_required
@require_http_methods(["GET", "POST"])
def image_delete(request, name: str):
    image = image_service.get_image(request.api, name)
    form = DeleteForm(request.POST or None, image_name=image.name)
    if request.method == "POST" and form.is_valid():
        try:
            image_service.delete_image(request.api, image.name)
        except Conflict as error:
            messages.error(request, error.message)
            return redirect("images:detail", image.name)
        messages.success(
            request,
            f"{image.name} was deleted. You can restore it from Recently deleted for "
            f"{settings.RECYCLE_DAYS} days.",
        )
        return redirect("images:list")
    context = {"image": image, "form": form, "recycle_days": settings.RECYCLE_DAYS}
    context["tag_names"], context["more_tags"] = _first_tag_names(request, image)
    return render(request, "images/image_delete.html", context)


def _first_tag_names(request, image: image_service.Image, room: int = 200):
    """The image's first tag names by name that fit in `room` characters, and how many
    more it has: from its first page of tags (an image may have 100,000)."""
    if not image.tag_count:
        return [], 0
    names, used = [], 0
    for tag in image_service.list_tags(request.api, image.name).items:
        used += len(tag.name) + 2
        if used > room and names:
            break
        names.append(tag.name)
    return names, max(image.tag_count - len(names), 0)
