"""Registries, categories, images, their tags and layers (image configs), and the
counts the database's triggers keep for the lists."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone

from lib import crypto
from records.models.teams import Team


class State(models.TextChoices):
    EMPTY = "Empty"
    BUILDING = "Building"
    SUCCESS = "Success"
    FAILED = "Failed"


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
        # One per list order (api/images/filters.py IMAGE_ORDERINGS) within a reach; a person's own
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
    # Grows whenever one of the reach's images is added, deleted or changes what the list
    # filters or orders by (records.counting): a walk of offset pages may go on from where the
    # last one ended while it reads the same (api.images.walks).
    changes = models.BigIntegerField(db_default=0)

    def __str__(self) -> str:
        return f"reach {self.reach}: {self.images} images"


class TagCount(models.Model):
    """How many tags each image has, kept by the database's own triggers (migration 0019,
    records.counting), so that a tag list's total_count is exact at any size and costs one
    row read. No foreign key: the triggers count tags by their image_id, and when an
    image's tags are deleted with it its row stays behind at 0."""

    image_id = models.BigIntegerField(primary_key=True)
    tags = models.BigIntegerField(default=0)
    # Grows whenever one of the image's tags is added, deleted, renamed or moved to another
    # layer (records.counting): what is made from them (the tag URIs, the storage they take)
    # is kept while it reads the same (api.images.tag_lists).
    changes = models.BigIntegerField(db_default=0)

    def __str__(self) -> str:
        return f"image {self.image_id}: {self.tags} tags"


class ListWalk(models.Model):
    """Where the offset pages of one image list ended, as one asker walks it
    (api.images.walks): `ends` maps the offset after a page to [the name of its last image,
    the reaches' changes counters before it was read]. One row per walk, written with one
    upsert per page; housekeeping deletes the walks idle past `until`."""

    key = models.CharField(max_length=64, primary_key=True)
    ends = models.JSONField(default=dict)
    until = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"walk {self.key[:12]}: {len(self.ends)} ends"


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
