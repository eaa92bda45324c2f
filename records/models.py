"""The system of record: users' API keys, registries, images, tags, layers, build sources."""

from __future__ import annotations

import secrets
import uuid

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, models
from django.utils import timezone

from lib import crypto
from records.rows import from_row


class State(models.TextChoices):
    EMPTY = "Empty"
    BUILDING = "Building"
    SUCCESS = "Success"
    FAILED = "Failed"


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


class Registry(models.Model):
    host = models.CharField(max_length=255, unique=True)
    name = models.CharField(max_length=255)
    is_tutum_registry = models.BooleanField(
        default=False, help_text="This installation's own registry."
    )
    is_ssl = models.BooleanField(default=True)

    class Meta:
        verbose_name_plural = "registries"
        ordering = ["host"]

    def __str__(self) -> str:
        return self.host


class Category(models.Model):
    name = models.CharField(max_length=100, unique=True)

    class Meta:
        verbose_name_plural = "categories"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Team(models.Model):
    """A namespace several people share (`<registry>/<team>/app`), run by its Owners.

    Team names and usernames are one name space: accounts.usernames checks both tables.
    """

    name = models.CharField(max_length=30, unique=True)
    description = models.CharField(max_length=300, blank=True)
    created = models.DateTimeField(default=timezone.now, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    """A member's role in a team; each includes everything the one before it may do."""

    READER = "Reader"
    WRITER = "Writer"
    OWNER = "Owner"


class Membership(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.READER)
    joined = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["team__name", "user__username"]
        constraints = [
            models.UniqueConstraint(fields=["user", "team"], name="one_membership_per_team")
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.team} ({self.role})"


class TeamInvitation(models.Model):
    """An Owner asking someone into a team with a role: addressed to a username (accepted
    from their Teams page), or a link anyone signed in may accept once (`token_hash`)."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="invitations")
    role = models.CharField(max_length=10, choices=Role.choices)
    invitee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="team_invitations",
    )
    token_hash = models.CharField(max_length=64, null=True, blank=True, unique=True)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created = models.DateTimeField(default=timezone.now, editable=False)
    expires = models.DateTimeField()

    class Meta:
        ordering = ["-created", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["team", "invitee"],
                condition=models.Q(invitee__isnull=False),
                name="one_invitation_per_person_and_team",
            ),
            models.CheckConstraint(
                condition=models.Q(invitee__isnull=False) | models.Q(token_hash__isnull=False),
                name="team_invitation_has_invitee_or_link",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.invitee or 'link'} → {self.team} ({self.role})"

    @property
    def is_expired(self) -> bool:
        return self.expires <= timezone.now()


class TeamToken(models.Model):
    """A team's access token (a robot account): logs in as `<team>+<name>` with its secret,
    to pull (and, for `push`, push and build) the team's images, or only the chosen ones.

    It belongs to the team, so it outlives the person who made it. Only the secret's digest
    is kept: it is shown once, in the answer that makes the token.
    """

    class Access(models.TextChoices):
        PULL = "pull", "Pull"
        PUSH = "push", "Pull and push"

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="tokens")
    name = models.CharField(max_length=50)
    secret_hash = models.CharField(max_length=64, unique=True, editable=False)
    prefix = models.CharField(
        max_length=8, editable=False, help_text="First characters, to tell tokens apart."
    )
    access = models.CharField(max_length=4, choices=Access.choices, default=Access.PULL)
    all_images = models.BooleanField(
        default=True, help_text="Every image of the team; otherwise only `images`."
    )
    images = models.ManyToManyField("Image", blank=True, related_name="team_tokens")
    created = models.DateTimeField(default=timezone.now, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    expires = models.DateTimeField(help_text="After this moment the token is refused everywhere.")
    last_used = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["team", "name"], name="one_token_name_per_team")
        ]

    def __str__(self) -> str:
        return f"{self.team}+{self.name}"

    @property
    def is_expired(self) -> bool:
        return self.expires <= timezone.now()


class Image(models.Model):
    name = models.CharField(max_length=255, unique=True)
    # An image belongs to a person (`owner`) or to a team (`team`, with no owner, so that a
    # person who leaves the team keeps nothing of it); public images looked up have neither.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="images",
        db_index=False,  # image_owner below, with the name that orders a person's images
    )
    # Indexed by image_team below, with the name that orders a team's images.
    team = models.ForeignKey(
        Team,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="images",
        db_index=False,
    )
    registry = models.ForeignKey(Registry, on_delete=models.PROTECT, related_name="images")
    description = models.TextField(blank=True)
    is_private_image = models.BooleanField(default=True)
    jumpstart = models.BooleanField(default=False)
    star_count = models.PositiveIntegerField(default=0)
    public_url = models.CharField(max_length=500, blank=True)
    categories = models.ManyToManyField(Category, blank=True, related_name="images")
    registry_username = models.CharField(max_length=255, blank=True)
    registry_password_encrypted = models.TextField(blank=True, editable=False)
    webhook_secret_encrypted = models.TextField(blank=True, editable=False)
    state = models.CharField(
        max_length=10, choices=State.choices, default=State.EMPTY, db_index=True
    )
    last_build_date = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField(default=timezone.now, editable=False)

    # Who sees an image besides the public, as one number the database keeps (teams.access):
    # 0 for a public image, the owner's id for a private one, minus the team's id for a
    # team's private image. A person sees the reaches 0, their id and minus their teams' ids,
    # each one range of the indexes below, so a page of the list reads each range's first
    # rows instead of walking every image (api/listing.py, bench/scale.py).
    reach = models.GeneratedField(
        expression=models.Case(
            models.When(is_private_image=False, then=models.Value(0)),
            models.When(team__isnull=False, then=-models.F("team_id")),
            default=models.F("owner_id"),
            output_field=models.BigIntegerField(),
        ),
        output_field=models.BigIntegerField(null=True),
        db_persist=True,
    )

    class Meta:
        ordering = ["name"]
        # One per list order (api/filters.py IMAGE_ORDERINGS) within a reach; a person's own
        # images and a team's by name for the is_user_image and team filters.
        indexes = [
            models.Index(fields=["reach", "name"], name="image_reach_name"),
            models.Index(fields=["reach", "last_build_date", "name"], name="image_reach_built"),
            models.Index(
                fields=["reach", "-last_build_date", "name"], name="image_reach_built_desc"
            ),
            models.Index(fields=["owner", "name"], name="image_owner"),
            models.Index(fields=["team", "name"], name="image_team"),
        ]
        # Searching by part of the name reads a trigram index that lives outside the model,
        # created by migration 0017: records/name_search.py.

    def __str__(self) -> str:
        return self.name

    @property
    def registry_password(self) -> str:
        return crypto.decrypt(self.registry_password_encrypted)

    @registry_password.setter
    def registry_password(self, value: str) -> None:
        self.registry_password_encrypted = crypto.encrypt(value) if value else ""

    @property
    def webhook_secret(self) -> str:
        """The HMAC secret for GitHub's push webhook, created on first use."""
        secret = crypto.decrypt(self.webhook_secret_encrypted)
        if not secret:
            secret = secrets.token_hex(20)
            self.webhook_secret_encrypted = crypto.encrypt(secret)
            Image.objects.filter(pk=self.pk).update(
                webhook_secret_encrypted=self.webhook_secret_encrypted
            )
        return secret

    @property
    def repository(self) -> str:
        """The repository path inside its registry (the name without the host)."""
        prefix = self.registry.host + "/"
        if self.name.startswith(prefix):
            return self.name[len(prefix) :]
        if "/" not in self.name and not self.registry.is_tutum_registry:
            return "library/" + self.name
        return self.name

    def refresh_state(self) -> None:
        """Recompute the image's state and last build date from its tags (DESIGN.md)."""
        states = set(self.tags.values_list("state", flat=True))
        if State.BUILDING in states:
            state = State.BUILDING
        elif State.FAILED in states:
            state = State.FAILED
        elif self.tags.filter(layer__isnull=False).exists():
            state = State.SUCCESS
        else:
            state = State.EMPTY
        last = self.tags.aggregate(last=models.Max("last_build_date"))["last"]
        Image.objects.filter(pk=self.pk).update(state=state, last_build_date=last)
        self.state, self.last_build_date = state, last


class ImageCount(models.Model):
    """How many images have each reach (Image.reach), kept by the database's own triggers
    (migration 0016) on every insert, delete and change of visibility or namespace, so that
    a list's total_count is a few rows read, not every image counted (api/listing.py)."""

    reach = models.BigIntegerField(primary_key=True)
    images = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"reach {self.reach}: {self.images} images"


class TagCount(models.Model):
    """How many tags each image has, kept by the database's own triggers (migration 0019,
    records.counting), so that a tag list's total_count is exact at any size and costs one
    row read. No foreign key: the triggers count tags by their image_id, and when an
    image's tags are deleted with it its row stays behind at 0."""

    image_id = models.BigIntegerField(primary_key=True)
    tags = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"image {self.image_id}: {self.tags} tags"


class BuildSource(models.Model):
    class Type(models.TextChoices):
        GITHUB = "GITHUB"

    class Autotests(models.TextChoices):
        OFF = "OFF"
        SOURCE_ONLY = "SOURCE_ONLY"
        SOURCE_AND_FORKS = "SOURCE_AND_FORKS"

    image = models.OneToOneField(Image, on_delete=models.CASCADE, related_name="build_source")
    type = models.CharField(max_length=20, choices=Type.choices, default=Type.GITHUB)
    owner = models.CharField(max_length=100)
    repository = models.CharField(max_length=100)
    autotests = models.CharField(max_length=20, choices=Autotests.choices, default=Autotests.OFF)
    # For private repositories: sent as HTTP Basic to the git server, never shown back.
    access_token_encrypted = models.TextField(blank=True, editable=False)

    def __str__(self) -> str:
        return f"{self.owner}/{self.repository}"

    @property
    def access_token(self) -> str:
        return crypto.decrypt(self.access_token_encrypted)

    @access_token.setter
    def access_token(self, value: str) -> None:
        self.access_token_encrypted = crypto.encrypt(value) if value else ""

    @property
    def clone_url(self) -> str:
        return f"{settings.GIT_BASE_URL}/{self.owner}/{self.repository}.git"


class BuildSetting(models.Model):
    build_source = models.ForeignKey(
        BuildSource, on_delete=models.CASCADE, related_name="build_settings"
    )
    tag = models.CharField(max_length=128)
    branch = models.CharField(max_length=255)
    dockerfile = models.CharField(max_length=500, default="/")
    autobuild = models.BooleanField(default=False)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["build_source", "tag"], name="one_setting_per_tag")
        ]

    def __str__(self) -> str:
        return f"{self.tag} ← {self.branch}:{self.dockerfile}"


class Layer(models.Model):
    """An image config as the registry serves it; `docker_id` is the config digest's hex."""

    docker_id = models.CharField(max_length=64, unique=True)
    author = models.CharField(max_length=500, blank=True)
    creation = models.DateTimeField(null=True, blank=True)
    entrypoint = models.TextField(blank=True)
    run_command = models.TextField(blank=True)
    envvars = models.JSONField(default=list)
    labels = models.JSONField(default=list)
    ports = models.JSONField(default=list)
    volumes = models.JSONField(default=list)
    size = models.BigIntegerField(default=0, help_text="Compressed size of the image's layers.")
    os = models.CharField(max_length=50, blank=True)
    architecture = models.CharField(max_length=50, blank=True)
    variant = models.CharField(max_length=50, blank=True)
    layers = models.JSONField(
        default=list, blank=True, help_text="The manifest's layers: digest, size, media_type."
    )
    history = models.JSONField(
        default=list,
        blank=True,
        help_text="Build steps: created, created_by, comment, empty_layer, size of its layer.",
    )

    def __str__(self) -> str:
        return self.docker_id[:12]


class Tag(models.Model):
    # No index of its own: unique_tag_per_image (image, name) serves every lookup by image
    # and its order. With a second, PostgreSQL chose it for an image whose tag count its
    # statistics underrate (a 1,000-tag image among a million with 3) and sorted every tag
    # of the image for a page of 25.
    image = models.ForeignKey(Image, on_delete=models.CASCADE, related_name="tags", db_index=False)
    name = models.CharField(max_length=128)
    state = models.CharField(max_length=10, choices=State.choices, default=State.EMPTY)
    layer = models.ForeignKey(
        Layer, null=True, blank=True, on_delete=models.SET_NULL, related_name="tags"
    )
    digest = models.CharField(
        max_length=100, blank=True, help_text="Manifest digest in the registry."
    )
    media_type = models.CharField(max_length=100, blank=True)
    size = models.BigIntegerField(
        null=True, blank=True, help_text="Bytes a pull downloads: config and compressed layers."
    )
    platforms = models.JSONField(
        default=list,
        blank=True,
        help_text="An index's images: os, architecture, variant, digest, size; [] for one image.",
    )
    pushed_by = models.CharField(
        max_length=150, blank=True, help_text="Who pushed it (the registry's actor)."
    )
    pushed_at = models.DateTimeField(null=True, blank=True)
    # From the registry's pull events, at most once a minute (registry.events).
    last_pulled = models.DateTimeField(null=True, blank=True)
    last_build_date = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField(default=timezone.now, editable=False)
    # Its layer's `creation`, copied when the layer is set (registry.sync, lifecycle.bin) so
    # that a tag list in creation order is a range of an index. A layer is an image config,
    # named by its digest: its creation never changes.
    creation = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["image", "name"], name="unique_tag_per_image")
        ]
        indexes = [
            models.Index(fields=["image", "creation", "name"], name="tag_creation"),
            models.Index(fields=["image", "-creation", "name"], name="tag_creation_desc"),
        ]

    def __str__(self) -> str:
        return f"{self.image.name}:{self.name}"

    @property
    def full_name(self) -> str:
        return f"{self.image.name}:{self.name}"


class Build(models.Model):
    """One build of a tag: queued by the API, run by a worker, its log written as it runs."""

    class State(models.TextChoices):
        QUEUED = "Queued"
        BUILDING = "Building"
        SUCCESS = "Success"
        FAILED = "Failed"
        CANCELLED = "Cancelled"

    class Trigger(models.TextChoices):
        USER = "USER", "the web admin"
        API = "API", "the API"
        WEBHOOK = "WEBHOOK", "a push to the branch"

    ACTIVE = (State.QUEUED, State.BUILDING)

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    tag = models.ForeignKey(Tag, on_delete=models.CASCADE, related_name="builds")
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    trigger = models.CharField(max_length=10, choices=Trigger.choices, default=Trigger.API)
    triggered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    # What was asked for, copied from the build setting when queued.
    clone_url = models.CharField(max_length=1000)
    branch = models.CharField(max_length=255)
    dockerfile = models.CharField(max_length=500)
    commit_sha = models.CharField(max_length=64, blank=True)
    commit_message = models.TextField(blank=True)
    digest = models.CharField(max_length=100, blank=True)
    error = models.TextField(blank=True, help_text="Why it failed, in plain words.")
    log = models.TextField(blank=True)
    worker = models.CharField(max_length=100, blank=True)
    task_id = models.UUIDField(null=True, blank=True, help_text="Its django-tasks result.")
    created = models.DateTimeField(default=timezone.now, editable=False)
    started = models.DateTimeField(null=True, blank=True)
    finished = models.DateTimeField(null=True, blank=True)
    heartbeat = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created", "-id"]
        constraints = [
            # The database, not the code path, guarantees one active build per tag.
            models.UniqueConstraint(
                fields=["tag"],
                condition=models.Q(state__in=["Queued", "Building"]),
                name="one_active_build_per_tag",
            )
        ]
        indexes = [models.Index(fields=["state", "created"], name="build_queue")]

    def __str__(self) -> str:
        return f"{self.tag} build {self.uuid}"

    @property
    def duration(self) -> float | None:
        if self.started is None:
            return None
        end = self.finished or timezone.now()
        return round((end - self.started).total_seconds(), 1)

    @property
    def is_active(self) -> bool:
        return self.state in self.ACTIVE


class Worker(models.Model):
    """A build worker process, as last seen: so a queue with nobody serving it can say so."""

    worker_id = models.CharField(max_length=64, unique=True)
    hostname = models.CharField(max_length=255)
    pid = models.PositiveIntegerField()
    started = models.DateTimeField(default=timezone.now)
    seen = models.DateTimeField(default=timezone.now, db_index=True)

    def __str__(self) -> str:
        return f"{self.hostname}:{self.pid}"


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


class AuditEvent(models.Model):
    """One change, as the audit trail shows it (audit.trail). Names are copied so an event
    still reads right after the person, token or team it names is gone."""

    class Actor(models.TextChoices):
        PERSON = "person"
        TOKEN = "token", "team access token"
        SYSTEM = "system"

    time = models.DateTimeField(default=timezone.now)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,  # audit_actor below
    )
    actor_kind = models.CharField(max_length=10, choices=Actor.choices)
    actor_name = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=40)
    target = models.CharField(max_length=500, blank=True)
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    team_name = models.CharField(max_length=30, blank=True)
    address = models.CharField(max_length=100, blank=True, help_text="Where it came from.")
    details = models.JSONField(default=dict, blank=True)
    # A registry event's id: the registry retries deliveries, so one event arrives twice.
    event_id = models.CharField(max_length=100, null=True, blank=True, unique=True)

    class Meta:
        ordering = ["-time", "-pk"]
        # Each reader's view (staff: all; a person: their own; Owners: their team's), newest
        # first, is an index range.
        indexes = [
            models.Index(fields=["-time", "-id"], name="audit_time"),
            models.Index(fields=["actor_user", "-time"], name="audit_actor"),
            models.Index(fields=["team", "-time"], name="audit_team"),
        ]

    def __str__(self) -> str:
        return (
            f"{self.time:%Y-%m-%d %H:%M} {self.actor_name or 'system'} {self.action} {self.target}"
        )


class BinEntry(models.Model):
    """Something deleted that can still be restored: a tag, or an image with its tags.

    A tag's manifest is kept in a hidden repository of our registry (`repository`, see
    lifecycle.bin) so that garbage collection keeps its blobs until the entry is purged.
    Names and owners are copied: the image may be gone.
    """

    class Kind(models.TextChoices):
        TAG = "tag"
        IMAGE = "image"

    kind = models.CharField(max_length=5, choices=Kind.choices)
    # The image while it exists (a tag's entry); an image entry's image is gone.
    image = models.ForeignKey(
        Image, null=True, blank=True, on_delete=models.SET_NULL, related_name="bin_entries"
    )
    # A tag deleted with its image belongs to the image's entry and is restored with it.
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="tag_entries"
    )
    image_name = models.CharField(max_length=255)
    namespace = models.CharField(max_length=255, help_text="The first part of the image's path.")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.CASCADE, related_name="bin_entries"
    )
    tag_name = models.CharField(max_length=128, blank=True)
    digest = models.CharField(max_length=100, blank=True)
    media_type = models.CharField(max_length=100, blank=True)
    size = models.BigIntegerField(null=True, blank=True)
    platforms = models.JSONField(default=list, blank=True)
    layer = models.ForeignKey(
        Layer, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    pushed_by = models.CharField(max_length=150, blank=True)
    pushed_at = models.DateTimeField(null=True, blank=True)
    last_build_date = models.DateTimeField(null=True, blank=True)
    # The hidden repository holding the manifest; "" for an image entry or an unpushed tag.
    repository = models.CharField(max_length=255, blank=True)
    # An image entry: the image's settings to register it again (lifecycle.bin.snapshot).
    snapshot = models.JSONField(default=dict, blank=True)
    deleted_at = models.DateTimeField(default=timezone.now)
    deleted_by = models.CharField(max_length=150, blank=True)
    reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-deleted_at", "-pk"]
        indexes = [
            models.Index(fields=["image", "-deleted_at"], name="bin_image"),
            models.Index(fields=["namespace", "-deleted_at"], name="bin_namespace"),
            models.Index(fields=["deleted_at"], name="bin_age"),
        ]

    def __str__(self) -> str:
        if self.kind == self.Kind.IMAGE:
            return self.image_name
        return f"{self.image_name}:{self.tag_name}"


class Maintenance(models.Model):
    """Our registry's maintenance window (registry.maintenance): one row, `started` set while
    garbage collection runs and pushes are refused."""

    started = models.DateTimeField(null=True, blank=True)
    # The latest expiry of a push token we issued: collection waits until none is valid.
    push_tokens_until = models.DateTimeField(null=True, blank=True)
    # When garbage collection last ran to its end (housekeeping runs it every GC_EVERY_HOURS).
    last_collected = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"maintenance since {self.started:%Y-%m-%d %H:%M}" if self.started else "none"


class CleanupPolicy(models.Model):
    """Which tags an image (or every image of a namespace without its own) sheds on its own
    (lifecycle.policies): what is removed goes to the recycle bin, never straight away."""

    image = models.OneToOneField(
        Image, null=True, blank=True, on_delete=models.CASCADE, related_name="cleanup_policy"
    )
    namespace = models.CharField(max_length=255, blank=True, help_text="For a namespace's policy.")
    # A tag goes when it breaks every rule that is set (outside the N most recent, older
    # than D days) and no keep rule saves it (patterns, pulled in the last P days).
    keep_last = models.PositiveIntegerField(null=True, blank=True)
    older_than_days = models.PositiveIntegerField(null=True, blank=True)
    keep_patterns = models.JSONField(default=list, blank=True)
    keep_pulled_days = models.PositiveIntegerField(null=True, blank=True)
    # Saved knowing it removes every tag of an image (asked twice): only then may a run.
    may_empty_images = models.BooleanField(default=False)
    enabled = models.BooleanField(default=True)
    updated = models.DateTimeField(default=timezone.now)
    updated_by = models.CharField(max_length=150, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["namespace"],
                condition=models.Q(image__isnull=True),
                name="one_policy_per_namespace",
            )
        ]

    def __str__(self) -> str:
        return f"cleanup of {self.image.name if self.image_id else self.namespace + '/*'}"


class PolicyRun(models.Model):
    """One run of a cleanup policy, kept for its history."""

    policy = models.ForeignKey(CleanupPolicy, on_delete=models.CASCADE, related_name="runs")
    started = models.DateTimeField(default=timezone.now)
    # [{"image": name, "tag": name, "size": bytes}] — what went to the recycle bin.
    removed = models.JSONField(default=list, blank=True)
    removed_bytes = models.BigIntegerField(default=0)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started", "-pk"]

    def __str__(self) -> str:
        return f"{self.policy} at {self.started:%Y-%m-%d %H:%M}: {len(self.removed)} tags"
