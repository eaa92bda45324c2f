"""Pages of the web admin. Every read and write goes through images.services."""

from __future__ import annotations

import re
from contextlib import suppress
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.core.cache import cache
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect, HttpResponseClientRefresh

from images import services
from images.forms import (
    BuildSettingFormSet,
    DeleteForm,
    ImageFilterForm,
    ImageForm,
    LoginForm,
    apply_api_errors,
    image_payload,
    initial_for,
)
from images.session import (
    SESSION_KEY,
    api_login_required,
    browser_address,
    credentials,
    sign_in,
    to_login,
)

SETTINGS_PREFIX = "settings"
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
            creds = services.login(
                form.cleaned_data["username"],
                form.cleaned_data["password"],
                browser_address=browser_address(request),
            )
        except (services.NotAuthenticated, services.TooManyAttempts) as error:
            form.add_error(None, error.message)
        except services.ServiceError as error:
            form.add_error(None, f"{error.message} Please try again in a moment.")
            api_down = True
        else:
            sign_in(request, creds)
            return redirect(next_url)
    # An API that just failed is not asked again for an optional link: one wait, not two.
    signup_open = not api_down and services.signup_open()
    context = {"form": form, "next": next_url, "signup_open": signup_open}
    return render(request, "login.html", context)


@require_POST
def logout_view(request):
    creds = credentials(request)
    if creds is not None:
        # The browser's copy of the credential goes with the session either way; ending it
        # on the API as well makes a stolen copy useless. An unreachable API must not keep
        # anyone signed in here, so its failure is not shown.
        with suppress(services.ServiceError):
            services.logout(creds)
    request.session.flush()
    messages.info(request, "You are signed out.")
    return redirect("images:login")


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


def _exists(creds: services.Credentials, name: str) -> bool:
    try:
        services.get_image(creds, name)
    except services.NotFound:
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
        page = services.list_images(
            request.api, **listing, after=data["after"], before=data["before"]
        )
    except services.Invalid:
        if not (data["after"] or data["before"]):
            raise
        # In build-date order a page starts from an image, which may have been deleted
        # (or hidden) since the link was made: the list from its start, saying why.
        cursor_gone = True
        page = services.list_images(request.api, **listing)
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


def _pager(query: dict, page: services.Page, prefix: str = "") -> tuple[str, str]:
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


def registries(request) -> list[services.Registry]:
    # Registries change rarely; the list need not cost an API call per page view.
    return cache.get_or_set(
        f"registries:{request.api.username}", lambda: services.list_registries(request.api), 60
    )


def on_our_registry(request, name: str) -> bool:
    """Tags are deleted (to the recycle bin) only on our registry; others keep their own."""
    return any(r.is_ours and name.startswith(r.host + "/") for r in registries(request))


def _tag_page(request, name: str) -> tuple[services.Page, str, str, str]:
    """The image page's tags: (page, search, the previous and the next page's query strings).
    Paged from the first or last tag name shown (_pager), so the page after 90,000 tags costs
    what the first does. The names are tag names (at most 128)."""
    search = request.GET.get("tq", "").strip()[:128]
    after = request.GET.get("tafter", "")[:128]
    before = "" if after else request.GET.get("tbefore", "")[:128]
    page = services.list_tags(request.api, name, search=search, after=after, before=before)
    return page, search, *_pager({"tq": search} if search else {}, page, prefix="t")


@api_login_required
def image_detail(request, name: str):
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
    image = services.get_image(request.api, name)
    context.update(image=image, pull_command=pull_command(image), webhook=None, access=[])
    if image.team:
        # A team's members see who reaches its image (the API tells nobody else); a person's
        # own image is theirs, staff's, and everyone's when public: nothing to look up.
        with suppress(services.ApiError, services.NotFound, services.Forbidden):
            context["access"] = services.image_access(request.api, name)
    if image.can_write and image.build_source and image.build_source.build_settings:
        # Only those who may change the image see the secret; others get no webhook section.
        with suppress(services.ApiError, services.NotFound, services.Forbidden):
            context["webhook"] = services.get_webhook(request.api, name)
    return render(request, "images/image_detail.html", context)


def pull_command(image: services.Image) -> str:
    """`docker pull` defaults to :latest, so name a tag that exists when latest doesn't."""
    if image.tag_names and "latest" not in image.tag_names:
        return f"docker pull {image.name}:{image.tag_names[0]}"
    return f"docker pull {image.name}"


def docker_run_command(tag: services.Tag, image_name: str) -> str:
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
    tag_obj = services.get_tag(request.api, name, tag)
    context = {
        "name": name,
        "tag": tag_obj,
        "run_command": docker_run_command(tag_obj, name),
        # By digest, so it pulls this very image even after the tag moves on.
        "pull_command": f"docker pull {name}@{tag_obj.digest}" if tag_obj.digest else "",
    }
    if tag_obj.buildable:  # only tags with a build setting are built here
        context.update(_build_context(request, name, tag, can_write=tag_obj.can_write))
    return render(request, "images/tag_detail.html", context)


def _build_context(request, name: str, tag: str, *, can_write: bool) -> dict:
    """The tag's build history and its latest build with the start of its log; `can_write`:
    whether the person may build and cancel (else those buttons are not shown)."""
    history = services.list_builds(request.api, name, tag)
    latest = history.items[0] if history.items else None
    log = services.read_log(request.api, latest.uuid) if latest else None
    return {"history": history, "build": latest, "log": log, "can_write": can_write}


@api_login_required
@require_POST
def tag_build(request, name: str, tag: str):
    """Build button: htmx swaps in the Building badge (and the live log); a plain post
    redirects to the tag page."""
    try:
        services.start_build(request.api, name, tag)
    except (services.Conflict, services.Invalid) as error:
        if request.htmx:
            state = services.get_tag(request.api, name, tag).state
            context = {"name": name, "tag_name": tag, "state": state, "message": error.message}
            return render(request, "images/_build_refused.html", context)
        messages.error(request, error.message)
        return redirect("images:tag", name, tag)
    if not request.htmx:
        messages.success(request, f"Build of {name}:{tag} started.")
        return redirect("images:tag", name, tag)
    context = {"name": name, "tag_name": tag, "state": "Building"}
    if request.POST.get("where") == "page":
        context.update(_build_context(request, name, tag, can_write=True), oob=True)
    return render(request, "images/_build_started.html", context)


@api_login_required
def tag_state(request, name: str, tag: str):
    """The state badge, polled while the tag builds; tells the page when the build ends."""
    tag_obj = services.get_tag(request.api, name, tag)
    response = render(
        request,
        "images/_tag_state.html",
        {"name": name, "tag_name": tag, "state": tag_obj.state},
    )
    if tag_obj.state != "Building":
        response["HX-Trigger"] = "build-finished"
    return response


@api_login_required
def build_history(request, name: str, tag: str):
    can_write = services.get_tag(request.api, name, tag).can_write
    context = {
        "name": name,
        "tag_name": tag,
        **_build_context(request, name, tag, can_write=can_write),
    }
    return render(request, "images/_build_panel.html", context)


@api_login_required
@require_POST
def build_cancel(request, name: str, tag: str, uuid: str):
    """Cancel button: htmx swaps the build panel in; a plain post goes back to the tag page."""
    try:
        services.cancel_build(request.api, uuid)
        outcome = (messages.SUCCESS, f"The build of {name}:{tag} was cancelled.")
    except services.Conflict as error:
        outcome = (messages.INFO, error.message)
    if request.htmx:  # the panel shows the outcome itself
        built = _build_context(request, name, tag, can_write=True)
        return render(request, "images/_build_panel.html", {"name": name, "tag_name": tag, **built})
    messages.add_message(request, *outcome)
    return redirect("images:tag", name, tag)


@api_login_required
def build_log(request, name: str, tag: str, uuid: str):
    """The next piece of a running build's log, appended by htmx; stops polling when done."""
    try:
        offset = max(int(request.GET.get("offset", 0)), 0)
    except ValueError:
        offset = 0
    log = services.read_log(request.api, uuid, offset)
    context = {"name": name, "tag_name": tag, "uuid": uuid, "log": log}
    if log.state != request.GET.get("shown"):
        # Queued → Building: the summary above the log changes too (once, not every poll).
        context["build"] = services.get_build(request.api, uuid)
        context["can_write"] = services.get_tag(request.api, name, tag).can_write
    return render(request, "images/_log_chunk.html", context)


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
        namespaces = services.get_account(request.api).namespaces
        registry = services.our_registry(request.api)
    except (services.NotFound, services.ApiError):
        return {"namespaces": [request.api.username]}
    return {"namespaces": namespaces, "registry_host": registry.host if registry else ""}


def _image_form_page(request, image: services.Image | None):
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
                saved = services.update_image(request.api, image.name, body)
            else:
                saved = services.register_image(request.api, body)
        except services.Invalid as error:
            apply_api_errors(error, form, formset)
        except services.Conflict as error:
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
    return _image_form_page(request, services.get_image(request.api, name))


@api_login_required
@require_http_methods(["GET", "POST"])
def image_delete(request, name: str):
    image = services.get_image(request.api, name)
    form = DeleteForm(request.POST or None, image_name=image.name)
    if request.method == "POST" and form.is_valid():
        try:
            services.delete_image(request.api, image.name)
        except services.Conflict as error:
            messages.error(request, error.message)
            return redirect("images:detail", image.name)
        messages.success(
            request,
            f"{image.name} was deleted. You can restore it from Recently deleted for "
            f"{settings.RECYCLE_DAYS} days.",
        )
        return redirect("images:list")
    context = {"image": image, "form": form, "recycle_days": settings.RECYCLE_DAYS}
    return render(request, "images/image_delete.html", context)


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
