"""Teams: making and describing one, inviting, roles, access tokens.

The words for roles live here (they are the admin's copy); the API decides.
"""

from __future__ import annotations

import re

from django import forms

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
