"""Staff's view of the people here: who they are, and switching them off or making them staff.

A deactivated person is refused everywhere at once: the key and remembered-password lookups
read `is_active` on every request, and their admin sign-ins are ended too.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db.models import QuerySet

from accounts import sessions
from lib.errors import Invalid, NotFound


def people() -> QuerySet:
    return get_user_model().objects.select_related("profile").order_by("username")


def person(username: str):
    found = people().filter(username=username).first()
    if found is None:
        raise NotFound(f"Nobody here is called {username}.")
    return found


def change_person(actor, user, *, is_active: bool | None = None, is_staff: bool | None = None):
    """Apply what is given; refuses what would lock staff out of managing people."""
    if is_active is False and user.pk == actor.pk:
        raise Invalid({"is_active": ["You can't deactivate yourself."]})
    if is_staff is False and user.pk == actor.pk:
        raise Invalid(
            {"is_staff": ["You can't remove your own staff rights; ask another staff member."]}
        )
    if is_active is not None:
        user.is_active = is_active
    if is_staff is not None:
        user.is_staff = is_staff
    user.save(update_fields=["is_active", "is_staff"])
    if is_active is False:
        sessions.end_other_sessions(user, keep=None)
    return user
