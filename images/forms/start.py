"""Getting started: the name of the person's first image."""

from __future__ import annotations

from django import forms

from images.forms.images import NAME_COMPONENT


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
        if not NAME_COMPONENT.fullmatch(app):
            raise forms.ValidationError(
                "Use lowercase letters and digits, with '.', '_' or '-' between them (like my-app)."
            )
        return app
