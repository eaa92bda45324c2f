"""The activity page's filters."""

from __future__ import annotations

from django import forms

from images.services import audit as audit_service


class ActivityFilterForm(forms.Form):
    """The activity page's filters, all in the query string."""

    team = forms.ChoiceField(required=False, label="Whose")
    action = forms.ChoiceField(required=False, label="What")
    actor = forms.CharField(required=False, max_length=150, label="Who (username or token)")
    offset = forms.IntegerField(required=False, min_value=0, widget=forms.HiddenInput)

    def __init__(
        self,
        *args,
        owned_teams: list[str] = (),
        is_staff: bool = False,
        actions: list[audit_service.Action] = (),
        **kwargs,
    ):
        """`actions`: what the API says its trail records (audit_service.list_actions)."""
        super().__init__(*args, **kwargs)
        self.fields["action"].choices = [("", "Anything"), *((a.action, a.label) for a in actions)]
        everyone = [("", "Everyone's" if is_staff else "Your own")]
        self.fields["team"].choices = everyone + [(t, f"Team {t}") for t in owned_teams]

    def api_filters(self) -> dict[str, str]:
        return {k: v for k, v in self.cleaned_data.items() if v and k != "offset"}
