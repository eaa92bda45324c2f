"""Becoming someone here: by invitation (accounts.invitations) or, when ALLOW_SIGNUP is on,
by signing up."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.usernames import validate_new_username
from lib.errors import Forbidden, Invalid
from records.models import Profile


def create_person(username: str, email: str, password: str, *, display_name: str = ""):
    """A new active person, not staff; every rule broken is reported at once, per field."""
    errors: dict[str, list[str]] = {}
    try:
        validate_new_username(username)
    except Invalid as error:
        errors.update(error.fields)
    User = get_user_model()
    if User.objects.filter(email__iexact=email).exists():
        errors["email"] = [
            "Someone here already uses this address: sign in, or reset your password."
        ]
    try:
        validate_password(password, User(username=username, email=email))
    except ValidationError as error:
        errors["password"] = error.messages
    if errors:
        raise Invalid(errors)
    with transaction.atomic():
        user = User.objects.create_user(username, email, password)
        Profile.objects.create(user=user, display_name=display_name)
    return user


def sign_up(username: str, email: str, password: str, *, display_name: str = ""):
    if not settings.ALLOW_SIGNUP:
        raise Forbidden("Sign-up is off here: ask a staff member for an invitation.")
    return create_person(username, email, password, display_name=display_name)
