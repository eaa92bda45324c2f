"""Signing in, your account: profile, GitHub, email notifications, password, API keys."""

from __future__ import annotations

from django import forms

from images.forms.people import PasswordResetForm


class LoginForm(forms.Form):
    username = forms.CharField(
        max_length=150,
        widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "username"}),
    )
    # Password managers fill (and offer to save) fields marked as what they are.
    password = forms.CharField(
        strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )


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
        help_text="Where password reset links and your email notifications go.",
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


class EmailNotificationsForm(forms.Form):
    """Your account's "Email me when…": a box per notification, sent all at once."""

    build_failed = forms.BooleanField(required=False, label="A build I started failed")
    build_fixed = forms.BooleanField(
        required=False,
        label="A build I started succeeded after the tag's previous build failed",
    )
    invitation_accepted = forms.BooleanField(
        required=False, label="Someone accepted an invitation I sent"
    )
    webhook_paused = forms.BooleanField(
        required=False, label="A webhook I manage was paused because it kept failing"
    )

    def payload(self) -> dict:
        # An unticked box is not sent by the browser: every kind is said, on or off.
        return {"email_notifications": {name: self.cleaned_data[name] for name in self.fields}}


class PasswordChangeForm(PasswordResetForm):
    current_password = forms.CharField(
        strip=False,
        label="Your current password",
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    field_order = ["current_password", "new_password", "new_password_again"]


class CodeForm(forms.Form):
    """A code from an authenticator app, or (where `recovery`) one of the recovery codes."""

    code = forms.CharField(
        max_length=40,
        label="Code",
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )

    def __init__(self, *args, recovery: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.recovery = recovery
        self.fields["code"].help_text = "The six digits your authenticator app shows now" + (
            ", or one of your recovery codes." if recovery else "."
        )

    def clean_code(self) -> str:
        code = " ".join(self.cleaned_data["code"].split())
        digits = code.replace(" ", "")
        if digits.isdigit():
            if len(digits) != 6:
                raise forms.ValidationError("Type the six digits your app shows, without spaces.")
            return digits
        if not self.recovery:
            raise forms.ValidationError("Type the six digits your authenticator app shows now.")
        if not 8 <= len(code.replace("-", "").replace(" ", "")) <= 12:
            raise forms.ValidationError(
                "That is neither six digits from your app nor a recovery code (like abcde-fghjk)."
            )
        return code
