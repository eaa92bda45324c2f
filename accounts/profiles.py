"""A person's profile: email, display name, and the GitHub account their builds come from."""

from __future__ import annotations

from django.contrib.auth import get_user_model

from accounts import notices
from lib.errors import Invalid
from records.models import Profile


def profile_of(user) -> Profile:
    return Profile.objects.get_or_create(user_id=user.pk)[0]


def update_profile(user, data: dict) -> Profile:
    """Change what `data` names; `github_token` "" forgets the stored token, absent keeps it;
    `email_notifications` turns the kinds it names on or off (accounts.notices)."""
    profile = profile_of(user)
    if "email" in data:
        email = data["email"].strip()
        taken = get_user_model().objects.filter(email__iexact=email).exclude(pk=user.pk).exists()
        if email and taken:
            raise Invalid({"email": ["Another account already uses this address."]})
        get_user_model().objects.filter(pk=user.pk).update(email=email)
    for field in ("display_name", "github_login"):
        if field in data:
            setattr(profile, field, data[field])
    if "github_token" in data:
        profile.github_token = data["github_token"]
    if "email_notifications" in data:
        notices.choose(profile, data["email_notifications"])
    profile.save()
    return profile


def github_login_of(user) -> str:
    if user is None:
        return ""
    return (
        Profile.objects.filter(user_id=user.pk).values_list("github_login", flat=True).first() or ""
    )


def github_token_of(user) -> str:
    """The linked account's token, which builds without a token of their own use."""
    if user is None:
        return ""
    profile = Profile.objects.filter(user_id=user.pk).first()
    return profile.github_token if profile else ""
