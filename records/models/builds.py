"""Build sources and settings, builds, and the workers that run them."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from lib import crypto
from records.models.images import Image, Tag


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
