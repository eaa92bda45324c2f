"""The activity page's filters."""

from __future__ import annotations

from django import forms

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
