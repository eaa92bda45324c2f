"""People's records beside Django's user: API keys, profiles, invitations to join."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, models
from django.utils import timezone

from lib import crypto
from records.rows import from_row


class ApiKeyQuerySet(models.QuerySet):
    def find(self, key: str) -> ApiKey | None:
        """The key and its user in one plain SQL query: every API request runs it, and
        compiling the ORM version cost more than the query itself."""
        User = get_user_model()
        sql = (
            f"SELECT k.id, k.user_id, k.last_used, u.username, u.is_active, u.is_staff "
            f"FROM {ApiKey._meta.db_table} k JOIN {User._meta.db_table} u ON u.id = k.user_id "
            f"WHERE k.key_hash = %s AND (k.expires IS NULL OR k.expires > %s)"
        )
        now = connection.ops.adapt_datetimefield_value(timezone.now())
        with connection.cursor() as cursor:
            cursor.execute(sql, [crypto.digest(key), now])
            row = cursor.fetchone()
        if row is None:
            return None
        key_id, user_id, last_used, username, is_active, is_staff = row
        api_key = from_row(ApiKey, ("id", "user_id", "last_used"), (key_id, user_id, last_used))
        api_key.user = from_row(
            User,
            ("id", "username", "is_active", "is_staff"),
            (user_id, username, is_active, is_staff),
        )
        return api_key


class ApiKey(models.Model):
    """An API key: looked up by its hash, kept encrypted so `/api/v1/auth/` can hand it out."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_keys"
    )
    label = models.CharField(max_length=100, blank=True)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    key_encrypted = models.TextField(editable=False)
    prefix = models.CharField(
        max_length=8, editable=False, help_text="First characters, to tell keys apart."
    )
    created = models.DateTimeField(default=timezone.now, editable=False)
    last_used = models.DateTimeField(null=True, blank=True, editable=False)
    expires = models.DateTimeField(
        null=True, blank=True, help_text="After this moment the key is refused everywhere."
    )

    class Kind(models.TextChoices):
        KEY = "key", "API key"
        # What the web admin signs a browser in with: ended at sign-out and when the password
        # changes, and not listed among the person's API keys.
        SESSION = "session", "Web admin sign-in"

    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.KEY)

    objects = ApiKeyQuerySet.as_manager()

    class Meta:
        verbose_name = "API key"
        ordering = ["created"]

    def __str__(self) -> str:
        return f"{self.user} {self.prefix}… {self.label}".strip()

    @classmethod
    def issue(cls, user, label: str = "", expires=None, kind=Kind.KEY) -> tuple[ApiKey, str]:
        """Create a key for `user`; returns the model and the clear key (shown once)."""
        key = secrets.token_hex(20)
        api_key = cls.objects.create(
            user=user,
            label=label,
            expires=expires,
            kind=kind,
            key_hash=crypto.digest(key),
            key_encrypted=crypto.encrypt(key),
            prefix=key[:8],
        )
        return api_key, key

    @property
    def key(self) -> str:
        return crypto.decrypt(self.key_encrypted)


class Profile(models.Model):
    """What a person says about themselves, and the GitHub account their builds use."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile"
    )
    display_name = models.CharField(max_length=150, blank=True)
    github_login = models.CharField(
        max_length=39, blank=True, help_text="The default owner of build sources."
    )
    github_token_encrypted = models.TextField(blank=True, editable=False)
    # The kinds of email notification (accounts.notices.KINDS) turned off. A list of what is
    # off, not a column per kind: a kind added later is on for everyone without a migration,
    # and a kind retired leaves a harmless name behind.
    email_notices_off = models.JSONField(default=list, blank=True)

    def __str__(self) -> str:
        return self.display_name or str(self.user)

    @property
    def github_token(self) -> str:
        return crypto.decrypt(self.github_token_encrypted)

    @github_token.setter
    def github_token(self, value: str) -> None:
        self.github_token_encrypted = crypto.encrypt(value) if value else ""


class Invitation(models.Model):
    """Staff asking someone to join: a link that works once, until `expires`.

    Only the token's digest is kept, so the link cannot be read back from the database; a
    resend makes a new token (the old link stops working) and a new expiry.
    """

    email = models.EmailField(db_index=True)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created = models.DateTimeField(default=timezone.now)
    expires = models.DateTimeField()
    sent = models.DateTimeField(null=True, blank=True, help_text="When it was last emailed.")
    accepted = models.DateTimeField(null=True, blank=True)
    accepted_by = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="invitation",
    )

    class Meta:
        ordering = ["-created", "-pk"]

    def __str__(self) -> str:
        return self.email

    @property
    def is_expired(self) -> bool:
        return self.expires <= timezone.now()


class TwoFactor(models.Model):
    """A person's second factor: an authenticator app's secret (TOTP, RFC 6238), confirmed
    once they typed a code from it, and ten single-use recovery codes (their hashes).

    The secret is encrypted, not hashed: checking a code needs it. `last_step` is the time step
    of the last code accepted, so a code is never accepted twice (RFC 6238 section 5.2)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="two_factor"
    )
    totp_secret_encrypted = models.TextField(editable=False)
    confirmed = models.DateTimeField(null=True, blank=True)
    last_step = models.BigIntegerField(default=0)
    recovery_hashes = models.JSONField(default=list, editable=False)
    created = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"two-factor of {self.user}"

    @property
    def totp_secret(self) -> str:
        return crypto.decrypt(self.totp_secret_encrypted)

    @totp_secret.setter
    def totp_secret(self, value: str) -> None:
        self.totp_secret_encrypted = crypto.encrypt(value)
