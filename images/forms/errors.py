"""Placing the API's field errors on a form, shared by the forms of every resource."""

from __future__ import annotations

from django import forms

from images.services.http import Invalid


def place_api_errors(error: Invalid, form: forms.Form, field_map: dict) -> None:
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
