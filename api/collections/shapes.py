"""The shapes of garbage collections (extension): a run's serializer (the schema) beside the
function that builds its JSON, the same for a collection still waiting for a worker, and the
request body of starting one. Sizes and counts are numbers; the admin puts them in words."""

from __future__ import annotations

from rest_framework import serializers

from api.core import formats
from api.core.shapes import DateField, StrictSerializer
from records.models import Collection

# Title-case, as builds' states; from the records' own labels (Queued, Running, Done, Failed).
COLLECTION_STATES = list(Collection.State.labels)


def state_named(value: str) -> str:
    """The record's state for a `state` filter's value (`Done` -> `done`); "" if none is."""
    return next((state.value for state in Collection.State if state.label == value), "")


def collection_uri(collection_id: int) -> str:
    return f"{formats.API_PREFIX}/collection/{collection_id}/"


class CollectionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    resource_uri = serializers.CharField()
    state = serializers.ChoiceField(choices=COLLECTION_STATES)
    trigger = serializers.CharField(
        help_text="`schedule` or `after a purge` (housekeeping), or who asked for it (username)."
    )
    started = DateField(help_text="When it started; while Queued, when it was asked for.")
    finished = DateField(allow_null=True)
    seconds = serializers.FloatField(help_text="How long it ran; pushes go on meanwhile.")
    bytes_before = serializers.IntegerField(help_text="What the storage held when it started.")
    bytes_after = serializers.IntegerField(help_text="What the storage held when it ended.")
    bytes_freed = serializers.IntegerField(help_text="Exactly what the deleted blobs held.")
    repositories = serializers.IntegerField()
    manifests = serializers.IntegerField()
    blobs_deleted = serializers.IntegerField()
    blobs_deferred = serializers.IntegerField(
        help_text="Unreferenced blobs left for a later run: a push under way may use them."
    )
    blobs_restored = serializers.IntegerField(
        help_text="Blobs taken out and put back because a push used them meanwhile."
    )
    bin_repositories_removed = serializers.IntegerField()
    error = serializers.CharField(allow_blank=True, help_text="Why it failed, in words.")
    workers_online = serializers.IntegerField(
        help_text="Build workers seen lately: they start what is Queued."
    )


# What a run measured and counted, each a number (0 until it ends).
FIGURES = (
    "bytes_before",
    "bytes_after",
    "bytes_freed",
    "repositories",
    "manifests",
    "blobs_deleted",
    "blobs_deferred",
    "blobs_restored",
    "bin_repositories_removed",
)


def collection_json(run: Collection, workers_online: int) -> dict:
    return {
        "id": run.pk,
        "resource_uri": collection_uri(run.pk),
        "state": Collection.State(run.state).label,
        "trigger": run.trigger,
        "started": formats.rfc2822(run.started),
        "finished": formats.rfc2822(run.finished),
        "seconds": run.seconds,
        **{name: getattr(run, name) for name in FIGURES},
        "error": run.error,
        "workers_online": workers_online,
    }


class CollectionRequestSerializer(StrictSerializer):
    """Starting a collection takes no fields: `{}` or no body."""
