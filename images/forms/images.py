"""Images: the list's filters, registering and editing an image with its build settings,
deleting it."""

from __future__ import annotations

import re

from django import forms
from django.forms import formset_factory

from images.services import images as image_service
from images.services.http import Invalid

NAME_HELP = (
    "Lowercase letters, digits and '.', '_' or '-' between them, in parts separated by '/'. "
    "Start with a registry host (like 127.0.0.1:5000/yourname/app) for a private registry."
)
# One path component of an image name (registry.names has the rule; a test pins this copy).
NAME_COMPONENT = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*")
# A tag (registry.names.TAG_RE; pinned by a test too).
TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")

STATE_CHOICES = [("", "Any state"), *((s, s) for s in ("Success", "Building", "Failed", "Empty"))]
VISIBILITY_CHOICES = [("", "Private and public"), ("private", "Private"), ("public", "Public")]
SORT_CHOICES = [
    ("name", "Name (A–Z)"),
    ("-name", "Name (Z–A)"),
    ("-last_build_date", "Last built (newest)"),
    ("last_build_date", "Last built (oldest)"),
]
AUTOTESTS_CHOICES = [
    ("OFF", "Off"),
    ("SOURCE_ONLY", "Test commits to this repository"),
    ("SOURCE_AND_FORKS", "Test commits and pull requests from forks"),
]


class ImageFilterForm(forms.Form):
    """The list's search, filters, sort and page: all in the query string."""

    q = forms.CharField(required=False, label="Search by name", max_length=255)
    visibility = forms.ChoiceField(required=False, choices=VISIBILITY_CHOICES, label="Visibility")
    state = forms.ChoiceField(required=False, choices=STATE_CHOICES, label="State")
    registry = forms.CharField(required=False, label="Registry", max_length=255)
    category = forms.CharField(required=False, label="Category", max_length=100)
    jumpstart = forms.BooleanField(required=False, label="Jumpstarts only")
    sort = forms.ChoiceField(required=False, choices=SORT_CHOICES, label="Sort by")
    offset = forms.IntegerField(required=False, min_value=0, widget=forms.HiddenInput)
    # The pager's keys: the page after or before that image, in the list's order.
    after = forms.CharField(required=False, max_length=255, widget=forms.HiddenInput)
    before = forms.CharField(required=False, max_length=255, widget=forms.HiddenInput)

    def api_filters(self) -> dict[str, str]:
        data = self.cleaned_data
        filters = {}
        if data.get("visibility"):
            filters["is_private_image"] = "true" if data["visibility"] == "private" else "false"
        if data.get("state"):
            filters["state"] = data["state"]
        if data.get("registry"):
            filters["registry"] = data["registry"]
        if data.get("category"):
            filters["categories__name"] = data["category"]
        if data.get("jumpstart"):
            filters["jumpstart"] = "true"
        return filters


class ImageForm(forms.Form):
    """Register (with `name`) or edit an image; registry password blank = keep it."""

    name = forms.CharField(max_length=255, help_text=NAME_HELP)
    description = forms.CharField(
        required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 3})
    )
    username = forms.CharField(
        required=False,
        max_length=255,
        label="Registry username",
        help_text="Only for images on another private registry.",
    )
    password = forms.CharField(
        required=False,
        strip=False,
        max_length=1000,
        label="Registry password",
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Never shown again. Leave blank to keep the current one.",
    )
    source_owner = forms.CharField(
        required=False, max_length=100, label="Repository owner", help_text="e.g. acme"
    )
    source_repository = forms.CharField(
        required=False, max_length=100, label="Repository name", help_text="e.g. web-app"
    )
    autotests = forms.ChoiceField(choices=AUTOTESTS_CHOICES, initial="OFF", label="Automated tests")
    source_token = forms.CharField(
        required=False,
        strip=True,
        max_length=500,
        label="Repository access token",
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="Only for private repositories (a GitHub token that can read it). Stored "
        "encrypted and never shown again; leave blank to keep the current one.",
    )

    team = forms.ChoiceField(
        required=False,
        label="Owned by",
        help_text=(
            "For an image on another registry: you, or a team you add images to. On this "
            "server's registry the name says who owns it."
        ),
    )

    def __init__(
        self,
        *args,
        editing: bool = False,
        namespaces: list[str] | None = None,
        registry_host: str = "",
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.editing = editing
        if editing:
            del self.fields["name"]
            del self.fields["team"]
            return
        namespaces = namespaces or []
        # The first namespace is the person's own; the others are teams they write to.
        self.fields["team"].choices = [
            ("", "You"),
            *((team, f"Team {team}") for team in namespaces[1:]),
        ]
        if len(namespaces) < 2:
            del self.fields["team"]
        if registry_host and namespaces:
            self.suggestions = [f"{registry_host}/{namespace}/" for namespace in namespaces]
            self.fields["name"].widget.attrs["list"] = "name-suggestions"
            self.fields["name"].help_text = (
                f"On this server's registry, start with {' or '.join(self.suggestions)}. "
                + NAME_HELP
            )

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        first, sep, rest = name.partition("/")
        path = rest if sep and ("." in first or ":" in first or first == "localhost") else name
        if any(not NAME_COMPONENT.fullmatch(part) for part in path.split("/")):
            if name != name.lower():
                raise forms.ValidationError("Use lowercase letters only. " + NAME_HELP)
            raise forms.ValidationError(NAME_HELP)
        return name

    def clean(self):
        data = super().clean()
        owner, repository = data.get("source_owner"), data.get("source_repository")
        if bool(owner) != bool(repository):
            missing = "source_repository" if owner else "source_owner"
            self.add_error(missing, "Give both the repository owner and its name, or neither.")
        return data


class BuildSettingForm(forms.Form):
    tag = forms.CharField(max_length=128, label="Tag", help_text="e.g. latest")
    branch = forms.CharField(max_length=255, label="Branch", help_text="e.g. main")
    dockerfile = forms.CharField(
        max_length=500, initial="/", label="Dockerfile folder", help_text="/ is the root"
    )
    autobuild = forms.BooleanField(required=False, label="Build on every push")

    def clean_tag(self) -> str:
        tag = self.cleaned_data["tag"].strip()
        if not TAG.fullmatch(tag):
            raise forms.ValidationError(
                "Use up to 128 letters, digits, '_', '.' or '-', not starting with '.' or '-'."
            )
        return tag


BuildSettingFormSet = formset_factory(BuildSettingForm, extra=0)


class DeleteForm(forms.Form):
    confirm = forms.CharField(max_length=300, label="Type the image name to confirm")

    def __init__(self, *args, image_name: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.image_name = image_name

    def clean_confirm(self) -> str:
        value = self.cleaned_data["confirm"].strip()
        if value != self.image_name:
            raise forms.ValidationError("That is not the image's name; nothing was deleted.")
        return value


def image_payload(form: ImageForm, settings_formset, *, creating: bool) -> dict:
    """The API body for a valid form and build-settings formset."""
    data = form.cleaned_data
    body: dict = {"description": data["description"]}
    if creating:
        body["name"] = data["name"]
    if data["username"] or creating:
        body["username"] = data["username"]
    if creating and data.get("team"):
        body["team"] = data["team"]
    if data["password"]:
        body["password"] = data["password"]
    rows = [f.cleaned_data for f in settings_formset.forms if f.cleaned_data]
    if data["source_owner"]:
        body["build_source"] = {
            "type": "GITHUB",
            "owner": data["source_owner"],
            "repository": data["source_repository"],
            "autotests": data["autotests"],
            **({"access_token": data["source_token"]} if data["source_token"] else {}),
            "build_settings": [
                {k: row[k] for k in ("tag", "branch", "dockerfile", "autobuild")} for row in rows
            ],
        }
    elif not creating:
        body["build_source"] = None
    return body


FIELD_MAP = {
    "name": "name",
    "description": "description",
    "username": "username",
    "password": "password",
    "team": "team",
    "build_source.owner": "source_owner",
    "build_source.repository": "source_repository",
    "build_source.autotests": "autotests",
    "build_source.access_token": "source_token",
}


def apply_api_errors(error: Invalid, form: ImageForm, settings_formset) -> None:
    """Put the API's per-field messages on the form fields they belong to."""
    placed = False
    for key, messages in error.fields.items():
        match = re.fullmatch(r"build_source\.build_settings\.(\d+)\.(\w+)", key)
        if match and int(match.group(1)) < len(settings_formset.forms):
            row = settings_formset.forms[int(match.group(1))]
            if match.group(2) in row.fields:
                for message in messages:
                    row.add_error(match.group(2), message)
                placed = True
                continue
        field = FIELD_MAP.get(key)
        if field and field in form.fields:
            for message in messages:
                form.add_error(field, message)
            placed = True
    if not placed:
        form.add_error(None, error.message)


def initial_for(image: image_service.Image) -> tuple[dict, list[dict]]:
    source = image.build_source
    initial = {"description": image.description, "autotests": "OFF"}
    rows: list[dict] = []
    if source:
        initial.update(
            source_owner=source.owner,
            source_repository=source.repository,
            autotests=source.autotests,
        )
        rows = [
            {"tag": s.tag, "branch": s.branch, "dockerfile": s.dockerfile, "autobuild": s.autobuild}
            for s in source.build_settings
        ]
    return initial, rows
