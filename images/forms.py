"""Forms of the web admin. They own validation, in words anyone can act on."""

from __future__ import annotations

import re

from django import forms
from django.forms import formset_factory

from images import services

NAME_HELP = (
    "Lowercase letters, digits and '.', '_' or '-' between them, in parts separated by '/'. "
    "Start with a registry host (like 127.0.0.1:5000/yourname/app) for a private registry."
)
_NAME_COMPONENT = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*")
_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")

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


class LoginForm(forms.Form):
    username = forms.CharField(
        max_length=150,
        widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "username"}),
    )
    # Password managers fill (and offer to save) fields marked as what they are.
    password = forms.CharField(
        strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )


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
        if any(not _NAME_COMPONENT.fullmatch(part) for part in path.split("/")):
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
        if not _TAG.fullmatch(tag):
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


def apply_api_errors(error: services.Invalid, form: ImageForm, settings_formset) -> None:
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


def initial_for(image: services.Image) -> tuple[dict, list[dict]]:
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


KEY_EXPIRY_CHOICES = [
    ("", "Never"),
    ("30", "In 30 days"),
    ("90", "In 90 days"),
    ("365", "In a year"),
]


class ApiKeyForm(forms.Form):
    label = forms.CharField(
        max_length=100,
        required=False,
        label="What is it for?",
        help_text="A name to recognise it by later, like “laptop” or “deploy script”.",
    )
    expires = forms.TypedChoiceField(
        choices=KEY_EXPIRY_CHOICES,
        coerce=int,
        empty_value=None,
        required=False,
        label="Stops working",
        help_text="A key that expires can't be misused forever if it leaks.",
    )


def place_api_errors(error: services.Invalid, form: forms.Form, field_map: dict) -> None:
    """Put the API's per-field messages on the form's fields (`field_map`: API → form name, or
    None for the whole form); anything else becomes a message for the whole form."""
    placed = False
    for key, messages in error.fields.items():
        field = field_map.get(key, key)
        if field is None or field in form.fields:
            for message in messages:
                form.add_error(field, message)
            placed = True
    if not placed:
        form.add_error(None, error.message)


class ProfileForm(forms.Form):
    display_name = forms.CharField(
        max_length=150,
        required=False,
        label="Your name",
        help_text="How others see you here.",
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    email = forms.EmailField(
        max_length=254,
        required=False,
        label="Email address",
        help_text="Where a password reset link would go.",
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )

    def payload(self) -> dict:
        return dict(self.cleaned_data)


class GithubForm(forms.Form):
    github_login = forms.CharField(
        max_length=39,
        required=False,
        label="GitHub username",
        help_text="Builds from GitHub use this account unless an image names another.",
    )
    github_token = forms.CharField(
        max_length=500,
        required=False,
        strip=True,
        label="GitHub access token",
        help_text="Only for private repositories. It is stored encrypted and never shown again; "
        "leave this empty to keep the one you have.",
        widget=forms.PasswordInput(attrs={"autocomplete": "off"}),
    )
    forget_token = forms.BooleanField(required=False, label="Forget the stored token")

    def payload(self) -> dict:
        data = {"github_login": self.cleaned_data["github_login"]}
        if self.cleaned_data["forget_token"]:
            data["github_token"] = ""
        elif self.cleaned_data["github_token"]:
            data["github_token"] = self.cleaned_data["github_token"]
        return data


class FirstImageForm(forms.Form):
    """The name the Getting started commands use for the person's first image."""

    app = forms.CharField(
        max_length=100,
        required=False,
        label="What will you call it?",
        help_text="Lowercase letters and digits, with '.', '_' or '-' between them.",
    )

    def clean_app(self) -> str:
        app = self.cleaned_data["app"].strip() or "myapp"
        if not _NAME_COMPONENT.fullmatch(app):
            raise forms.ValidationError(
                "Use lowercase letters and digits, with '.', '_' or '-' between them (like my-app)."
            )
        return app


class PasswordResetForm(forms.Form):
    new_password = forms.CharField(
        strip=False,
        label="New password",
        help_text="At least 8 characters, not a common password, not only digits.",
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    new_password_again = forms.CharField(
        strip=False,
        label="New password, again",
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self):
        data = super().clean()
        new, again = data.get("new_password"), data.get("new_password_again")
        if new and again and new != again:
            self.add_error("new_password_again", "The two new passwords are not the same.")
        return data


class PasswordChangeForm(PasswordResetForm):
    current_password = forms.CharField(
        strip=False,
        label="Your current password",
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    field_order = ["current_password", "new_password", "new_password_again"]


class JoinForm(PasswordResetForm):
    """Choosing a username and password: accepting an invitation, or signing up."""

    username = forms.CharField(
        max_length=30,
        label="Choose a username",
        help_text=(
            "Lowercase letters and digits, with '.', '_' or '-' between them. It starts the "
            "names of your images and can't be changed later."
        ),
        widget=forms.TextInput(
            attrs={"autocomplete": "username", "autocapitalize": "none", "spellcheck": "false"}
        ),
    )
    display_name = forms.CharField(
        max_length=150,
        required=False,
        label="Your name (optional)",
        help_text="How others see you here.",
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    field_order = ["username", "display_name", "new_password", "new_password_again"]

    # The API's fields for what this form calls them.
    API_FIELDS = {"password": "new_password", "token": None}

    def payload(self) -> dict:
        data = self.cleaned_data
        return {
            "username": data["username"],
            "display_name": data["display_name"],
            "password": data["new_password"],
        }


class SignUpForm(JoinForm):
    email = forms.EmailField(
        max_length=254,
        label="Email address",
        help_text="Where a password reset link would go.",
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    field_order = ["username", "email", "display_name", "new_password", "new_password_again"]

    def payload(self) -> dict:
        return {**super().payload(), "email": self.cleaned_data["email"]}


class InviteForm(forms.Form):
    email = forms.EmailField(
        max_length=254,
        label="Their email address",
        help_text="The invitation goes there; the account they make gets this address.",
        widget=forms.EmailInput(attrs={"autocomplete": "off"}),
    )


class ForgotPasswordForm(forms.Form):
    email = forms.EmailField(
        max_length=254,
        label="Your email address",
        help_text="The address on your account here.",
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )


# Teams. The words for roles live here (they are the admin's copy); the API decides.

ROLE_RANK = {"Reader": 1, "Writer": 2, "Owner": 3}
ROLE_SENTENCES = {
    "Reader": "Readers see and pull the team's private images.",
    "Writer": "Writers also add, edit and build the team's images, push to them and delete tags.",
    "Owner": (
        "Owners also delete images, choose who can see them, and run the team: members, "
        "invitations, access tokens and settings."
    ),
}
# What each role adds to the one below it, as things a person does.
_ROLE_GAINS = {
    "Reader": ["see and pull the team's private images"],
    "Writer": ["add, edit and build the team's images", "push to them and delete tags"],
    "Owner": [
        "delete the team's images or change who can see them",
        "change members, invitations, access tokens and the team's settings",
    ],
}
ROLE_CHOICES = [(role, role) for role in ROLE_RANK]


def role_losses(old: str, new: str | None) -> list[str]:
    """What someone going from role `old` to `new` (None: out of the team) can no longer do."""
    floor = ROLE_RANK[new] if new else 0
    return [
        gain
        for role, rank in ROLE_RANK.items()
        if floor < rank <= ROLE_RANK[old]
        for gain in _ROLE_GAINS[role]
    ]


class TeamForm(forms.Form):
    name = forms.CharField(
        max_length=30,
        label="Team name",
        help_text=(
            "2 to 30 lowercase letters and digits, with '.', '_' or '-' between them. It starts "
            "the names of the team's images, so it can't be changed later."
        ),
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "none"}),
    )
    description = forms.CharField(
        max_length=300, required=False, label="What the team is for (optional)"
    )

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if name != name.lower():
            raise forms.ValidationError(f"Use lowercase letters: {name.lower()}")
        return name


class TeamSettingsForm(forms.Form):
    description = forms.CharField(max_length=300, required=False, label="What the team is for")


class TeamInviteForm(forms.Form):
    username = forms.CharField(
        max_length=150,
        required=False,
        label="Their username (leave empty for a link)",
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "none"}),
    )
    role = forms.ChoiceField(
        choices=[(role, f"{role}: {ROLE_SENTENCES[role]}") for role in ROLE_RANK],
        initial="Reader",
        widget=forms.RadioSelect,
    )


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=ROLE_CHOICES)
    confirmed = forms.BooleanField(required=False, widget=forms.HiddenInput)


TOKEN_DAYS = [(30, "30 days"), (90, "90 days"), (180, "6 months"), (365, "a year")]


class TeamTokenForm(forms.Form):
    """A team access token: its name, what it may do, which images, and for how long."""

    name = forms.CharField(
        max_length=50,
        label="Token name",
        help_text="Lowercase letters, digits, '-' and '_', like ci-deploy. It logs in as "
        "<team>+<name>.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "none"}),
    )
    access = forms.ChoiceField(
        choices=[
            ("pull", "Pull only: download the images (a server that runs them)"),
            ("push", "Pull and push: also upload and build (a build pipeline)"),
        ],
        initial="pull",
        widget=forms.RadioSelect,
        label="It may",
    )
    days = forms.TypedChoiceField(
        choices=TOKEN_DAYS, coerce=int, initial=90, label="Works for", help_text="At most a year."
    )
    images = forms.MultipleChoiceField(
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Only these images (none ticked: every image of the team, new ones too)",
    )

    def __init__(self, *args, image_names: list[str] = (), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["images"].choices = [(name, name) for name in image_names]

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if not re.fullmatch(r"[a-z0-9_-]{1,50}", name):
            raise forms.ValidationError("Use lowercase letters, digits, '-' and '_' only.")
        return name


# What each audit action means, as the activity page says it.
ACTION_LABELS = {
    "sign_in": "Signed in",
    "password.change": "Changed their password",
    "apikey.create": "Made an API key",
    "apikey.revoke": "Revoked an API key",
    "image.register": "Registered an image",
    "image.edit": "Edited an image",
    "image.visibility": "Changed who can see an image",
    "image.delete": "Deleted an image",
    "tag.build": "Started a build",
    "build.cancel": "Cancelled a build",
    "tag.push": "Pushed",
    "tag.pull": "Pulled",
    "team.create": "Made the team",
    "team.edit": "Edited the team",
    "team.delete": "Deleted the team",
    "invitation.create": "Invited",
    "invitation.cancel": "Cancelled an invitation",
    "invitation.decline": "Declined an invitation",
    "member.join": "Joined the team",
    "member.role": "Changed a role",
    "member.remove": "Removed a member",
    "member.leave": "Left the team",
    "token.create": "Made an access token",
    "token.revoke": "Revoked an access token",
}


class ActivityFilterForm(forms.Form):
    """The activity page's filters, all in the query string."""

    team = forms.ChoiceField(required=False, label="Whose")
    action = forms.ChoiceField(
        required=False,
        choices=[("", "Anything"), *ACTION_LABELS.items()],
        label="What",
    )
    actor = forms.CharField(required=False, max_length=150, label="Who (username or token)")
    offset = forms.IntegerField(required=False, min_value=0, widget=forms.HiddenInput)

    def __init__(self, *args, owned_teams: list[str] = (), is_staff: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        everyone = [("", "Everyone's" if is_staff else "Your own")]
        self.fields["team"].choices = everyone + [(t, f"Team {t}") for t in owned_teams]

    def api_filters(self) -> dict[str, str]:
        return {k: v for k, v in self.cleaned_data.items() if v and k != "offset"}


class TagsDeleteForm(forms.Form):
    """The tags ticked on an image page (or the one a row's Delete names)."""

    tag = forms.CharField(required=False)

    def __init__(self, data, *args, **kwargs):
        super().__init__(data, *args, **kwargs)
        self.chosen = [t.strip() for t in data.getlist("tag") if t.strip()]

    def clean_tag(self) -> list[str]:
        if not self.chosen:
            raise forms.ValidationError("Tick the tags to delete first; nothing was deleted.")
        if len(self.chosen) > 100:
            raise forms.ValidationError("Delete at most 100 tags at once; nothing was deleted.")
        return list(dict.fromkeys(self.chosen))


class CleanupPolicyForm(forms.Form):
    """A cleanup policy; the API checks the rules again and says which field is wrong."""

    keep_last = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=10_000,
        label="Keep the most recent",
        help_text="How many of the newest tags to keep (tags kept by name don't count).",
    )
    older_than_days = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=3650,
        label="Remove tags older than (days)",
        help_text="Counted from when the tag was last pushed.",
    )
    keep_patterns = forms.CharField(
        required=False,
        max_length=2000,
        label="Always keep tags named",
        help_text="Separate names with commas; * matches anything, e.g. latest, v*, release-*.",
    )
    keep_pulled_days = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=3650,
        label="Keep tags pulled in the last (days)",
        help_text="A tag someone still pulls is kept, however old.",
    )
    enabled = forms.BooleanField(required=False, initial=True, label="Run it every day")
    confirm_empty = forms.BooleanField(required=False)

    def clean_keep_patterns(self) -> list[str]:
        raw = self.cleaned_data["keep_patterns"]
        return [p for p in re.split(r"[\s,]+", raw) if p]

    def clean(self):
        data = super().clean()
        no_rule = data.get("keep_last") is None and data.get("older_than_days") is None
        if no_rule and "keep_last" not in self.errors:
            self.add_error(
                "keep_last",
                "Say how many recent tags to keep, or after how many days a tag goes (or both).",
            )
        return data

    def rules(self) -> dict:
        data = self.cleaned_data
        return {
            "keep_last": data["keep_last"],
            "older_than_days": data["older_than_days"],
            "keep_patterns": data["keep_patterns"],
            "keep_pulled_days": data["keep_pulled_days"],
        }

    def apply_api_errors(self, error: services.Invalid) -> None:
        placed = False
        for key, messages in error.fields.items():
            field = key.split(".")[0]
            if field in self.fields:
                for message in messages:
                    self.add_error(field, message)
                placed = True
        if not placed:
            self.add_error(None, error.message)

    @staticmethod
    def initial_from(policy: services.Policy | None) -> dict:
        if policy is None:
            return {"keep_patterns": "latest", "keep_pulled_days": 30, "enabled": True}
        return {
            "keep_last": policy.keep_last,
            "older_than_days": policy.older_than_days,
            "keep_patterns": ", ".join(policy.keep_patterns),
            "keep_pulled_days": policy.keep_pulled_days,
            "enabled": policy.enabled,
        }
