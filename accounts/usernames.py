"""What a new username may be: it becomes the namespace of the person's images on our
registry (`<registry>/<username>/app`), so it follows the registry's name rules."""

from __future__ import annotations

import re

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError

RULE = (
    "A username is 2 to 30 lowercase letters and digits, with single '.', '_' or '-' between "
    "them; it starts the names of your images."
)
_USERNAME = re.compile(r"[a-z0-9]+(?:[._-][a-z0-9]+)*")


def validate_new_username(username: str) -> None:
    if not (2 <= len(username) <= 30 and _USERNAME.fullmatch(username)):
        raise ValidationError({"username": [RULE]})
    if get_user_model().objects.filter(username__iexact=username).exists():
        raise ValidationError({"username": ["Someone here already has this username."]})
