"""A webhook's settings, checked here in words and again by the API (which also checks the URL
against the outbound policy: its sentence lands on the URL field)."""

from __future__ import annotations

import re

from django import forms

from images.forms.errors import place_api_errors
from images.services import webhooks as webhook_service
from images.services.http import Invalid

TAG_PATTERN = re.compile(r"^[A-Za-z0-9_.\-*?\[\]!]{1,128}$")
# The events' checkboxes are grouped by what they are about (the part before the dot).
GROUPS = {"tag": "Tags", "image": "Images", "build": "Builds", "cleanup": "Cleanup policies"}


class WebhookForm(forms.Form):
    url = forms.CharField(
        max_length=2000,
        label="URL",
        help_text="Where each event is sent, as a POST. http:// or https://, at a public address.",
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "autocapitalize": "none", "spellcheck": "false"}
        ),
    )
    events = forms.MultipleChoiceField(
        label="Events",
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Choose at least one event."},
    )
    tag_pattern = forms.CharField(
        required=False,
        max_length=128,
        label="Only tags matching (optional)",
        help_text=(
            "e.g. v* or release-?: * matches any characters, ? one. Events about no tag (an "
            "image deleted, a cleanup) always go. Empty: every tag."
        ),
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "none"}),
    )
    format = forms.ChoiceField(
        choices=list(webhook_service.FORMATS.items()),
        initial="standard",
        label="Format",
        widget=forms.RadioSelect,
    )
    description = forms.CharField(
        required=False,
        max_length=200,
        label="Description (optional)",
        help_text="What it is for, for the next person who reads this page.",
    )
    enabled = forms.BooleanField(required=False, initial=True, label="On: send events to it")

    def __init__(self, *args, events: list[webhook_service.Event], **kwargs):
        super().__init__(*args, **kwargs)
        self.events = events
        self.fields["events"].choices = [(e.name, e.label) for e in events]

    def event_groups(self) -> list[tuple[str, list]]:
        """The events' checkboxes, grouped: [("Tags", [bound checkboxes]), …], in the API's
        order of the events."""
        groups: dict[str, list] = {}
        for checkbox, event in zip(self["events"], self.events, strict=True):
            title = GROUPS.get(event.group, event.group.capitalize())
            groups.setdefault(title, []).append(checkbox)
        return list(groups.items())

    def clean_url(self) -> str:
        url = self.cleaned_data["url"].strip()
        if not re.match(r"^https?://[^/\s]+", url, re.IGNORECASE):
            raise forms.ValidationError(
                "Use an http:// or https:// URL with a host name, e.g. "
                "https://deploy.example.com/hooks/images."
            )
        if any(c.isspace() for c in url):
            raise forms.ValidationError("A URL has no spaces: check what was pasted.")
        return url

    def clean_tag_pattern(self) -> str:
        pattern = self.cleaned_data["tag_pattern"].strip()
        if pattern and not TAG_PATTERN.match(pattern):
            raise forms.ValidationError(
                "Use a tag, or a pattern with * (any characters) and ? (one character), e.g. "
                "v* or release-?: letters, digits, '.', '_' and '-'."
            )
        return pattern

    def fields_for_api(self) -> dict:
        data = self.cleaned_data
        return {
            "url": data["url"],
            "events": data["events"],
            "tag_pattern": data["tag_pattern"],
            "format": data["format"],
            "description": data["description"],
            "enabled": data["enabled"],
        }

    def apply_api_errors(self, error: Invalid) -> None:
        # namespace and image are not fields here: their errors are the whole form's.
        place_api_errors(error, self, {"namespace": None, "image": None})

    @staticmethod
    def initial_from(webhook: webhook_service.Webhook) -> dict:
        return {
            "url": webhook.url,
            "events": webhook.events,
            "tag_pattern": webhook.tag_pattern,
            "format": webhook.format,
            "description": webhook.description,
            "enabled": webhook.enabled,
        }
