"""Cleanup policies: the rules, checked here in words and again by the API."""

from __future__ import annotations

import re

from django import forms

from images.services import policies as policy_service
from images.services.http import Invalid


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
        label="Keep what was pulled in the last (days)",
        help_text="A tag or an old version someone still pulls is kept, however old.",
    )
    untagged_days = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=3650,
        label="Remove old versions no tag points to any more after (days)",
        help_text=(
            "Pushing a tag again leaves the version it pointed to behind: it still takes "
            "space, and only someone who saved its digest can pull it."
        ),
    )
    enabled = forms.BooleanField(required=False, initial=True, label="Run it every day")
    confirm_empty = forms.BooleanField(required=False)

    def clean_keep_patterns(self) -> list[str]:
        raw = self.cleaned_data["keep_patterns"]
        return [p for p in re.split(r"[\s,]+", raw) if p]

    def clean(self):
        data = super().clean()
        rules = ("keep_last", "older_than_days", "untagged_days")
        no_rule = all(data.get(rule) is None for rule in rules)
        if no_rule and not any(rule in self.errors for rule in rules):
            self.add_error(
                "keep_last",
                "Say how many recent tags to keep, or after how many days a tag goes, or "
                "after how many days old versions no tag points to go (any of them).",
            )
        return data

    def rules(self) -> dict:
        data = self.cleaned_data
        return {
            "keep_last": data["keep_last"],
            "older_than_days": data["older_than_days"],
            "keep_patterns": data["keep_patterns"],
            "keep_pulled_days": data["keep_pulled_days"],
            "untagged_days": data["untagged_days"],
        }

    def apply_api_errors(self, error: Invalid) -> None:
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
    def initial_from(policy: policy_service.Policy | None) -> dict:
        if policy is None:
            return {"keep_patterns": "latest", "keep_pulled_days": 30, "enabled": True}
        return {
            "keep_last": policy.keep_last,
            "older_than_days": policy.older_than_days,
            "keep_patterns": ", ".join(policy.keep_patterns),
            "keep_pulled_days": policy.keep_pulled_days,
            "untagged_days": policy.untagged_days,
            "enabled": policy.enabled,
        }
