"""The shapes of builds, their logs and the GitHub push webhook: each read shape's serializer
(the OpenAPI schema) beside the function that builds its JSON, and the request bodies.
Builds are an extension: Tutum's API had no build records."""

from __future__ import annotations

from django.conf import settings
from rest_framework import serializers

from api.core import formats
from builds import queue as build_rules
from records.models import Build, Image

BUILD_STATES = ["Queued", "Building", "Success", "Failed", "Cancelled"]


class BuildSerializer(serializers.Serializer):
    """Read schema of a build (extension: Tutum's API had no build records)."""

    uuid = serializers.UUIDField()
    resource_uri = serializers.CharField()
    image = serializers.CharField()
    tag = serializers.CharField()
    tag_name = serializers.CharField()
    state = serializers.ChoiceField(choices=BUILD_STATES)
    trigger = serializers.ChoiceField(choices=["USER", "API", "WEBHOOK"])
    triggered_by = serializers.CharField(allow_null=True)
    branch = serializers.CharField()
    dockerfile = serializers.CharField()
    commit = serializers.CharField(allow_blank=True)
    commit_message = serializers.CharField(allow_blank=True)
    digest = serializers.CharField(allow_blank=True)
    error = serializers.CharField(allow_blank=True)
    created = serializers.CharField()
    started = serializers.CharField(allow_null=True)
    finished = serializers.CharField(allow_null=True)
    duration = serializers.FloatField(allow_null=True)
    queue_position = serializers.IntegerField(allow_null=True)
    workers_online = serializers.IntegerField()
    log = serializers.CharField()
    log_size = serializers.IntegerField()


def build_json(build: Build, image_name: str, tag_name: str, workers_online: int) -> dict:
    """A build (annotated with `log_size`); `workers_online` is counted once per response."""

    return {
        "uuid": str(build.uuid),
        "resource_uri": formats.build_uri(build.uuid),
        "image": formats.image_uri(image_name),
        "tag": formats.tag_uri(image_name, tag_name),
        "tag_name": tag_name,
        "state": build.state,
        "trigger": build.trigger,
        "triggered_by": build.triggered_by.get_username() if build.triggered_by else None,
        "branch": build.branch,
        "dockerfile": build.dockerfile,
        "commit": build.commit_sha,
        "commit_message": build.commit_message,
        "digest": build.digest,
        "error": build.error,
        "created": formats.rfc2822(build.created),
        "started": formats.rfc2822(build.started),
        "finished": formats.rfc2822(build.finished),
        "duration": build.duration,
        "queue_position": build_rules.queue_position(build),
        "workers_online": workers_online,
        "log": formats.build_uri(build.uuid) + "log/",
        "log_size": build.log_size,
    }


class BuildLogSerializer(serializers.Serializer):
    offset = serializers.IntegerField()
    next_offset = serializers.IntegerField()
    text = serializers.CharField(allow_blank=True)
    state = serializers.ChoiceField(choices=BUILD_STATES)
    complete = serializers.BooleanField(help_text="The build has finished and all is read.")


def log_json(build: Build, offset: int, text: str) -> dict:
    """The piece `text` of a build's log (annotated with `log_size`) read from `offset`."""
    next_offset = offset + len(text)
    return {
        "offset": offset,
        "next_offset": next_offset,
        "text": text,
        "state": build.state,
        "complete": not build.is_active and next_offset >= build.log_size,
    }


class BuildRequestSerializer(serializers.Serializer):
    trigger = serializers.ChoiceField(
        choices=["USER", "API"], default="API", help_text="USER when a person clicked Build."
    )


class WebhookSerializer(serializers.Serializer):
    url = serializers.CharField()
    secret = serializers.CharField()
    content_type = serializers.CharField()
    events = serializers.ListField(child=serializers.CharField())


def webhook_json(image: Image) -> dict:
    return {
        "url": settings.WEBHOOK_PUBLIC_URL + formats.webhook_uri(image.name),
        "secret": image.webhook_secret,
        "content_type": "application/json",
        "events": ["push"],
    }


# What the webhook reads of GitHub's push event.
class GitHubPushSerializer(serializers.Serializer):
    ref = serializers.CharField()


class WebhookPongSerializer(serializers.Serializer):
    ok = serializers.CharField()


PONG = {"ok": "pong"}


class WebhookAcceptedSerializer(serializers.Serializer):
    built = serializers.ListField(child=serializers.CharField())
    skipped = serializers.DictField(child=serializers.CharField())
    message = serializers.CharField()


def accepted_json(built: list[str], skipped: dict[str, str], message: str) -> dict:
    """`built`: the tag URIs whose builds started; `skipped`: tag name → why not."""
    return {"built": built, "skipped": skipped, "message": message}
