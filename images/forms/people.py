"""People: password resets, joining by invitation or sign-up, inviting someone (staff)."""

from __future__ import annotations

from django import forms


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
