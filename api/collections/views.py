"""Garbage collections of our registry's storage (extension, staff only): their history with
every figure, one run, and starting one now in the background. One function per HTTP verb,
joined per URL by api.core.dispatch."""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import api_view, permission_classes
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from api.collections.shapes import (
    COLLECTION_STATES,
    CollectionRequestSerializer,
    CollectionSerializer,
    collection_json,
    state_named,
)
from api.core.dispatch import dispatch
from api.core.pagination import envelope_serializer, paginate
from api.core.permissions import IsStaff, TeamTokensWhereAllowed
from api.core.schema import ERROR, PAGE_PARAMS
from builds.queue import workers_online
from lifecycle import collections
from records.models import Collection


class IsStaffForStorage(IsStaff):
    message = "Only staff can see and start the registry's garbage collections."


STAFF_ONLY = [IsAuthenticated, TeamTokensWhereAllowed, IsStaffForStorage]
STATE = OpenApiParameter(
    "state", str, enum=COLLECTION_STATES, description="Only the collections in this state."
)
COLLECTION_ID = OpenApiParameter("id", int, OpenApiParameter.PATH)


@extend_schema(
    operation_id="collections_list",
    summary="Garbage collections of our registry's storage, newest first (staff)",
    description=(
        "Every run with what it measured, freed and left. A collection asked for that no worker "
        "has started yet is `Queued`; `workers_online` says whether a worker is there to start "
        "it."
    ),
    parameters=[STATE, *PAGE_PARAMS],
    responses={
        200: envelope_serializer("CollectionList", CollectionSerializer(many=True)),
        400: ERROR,
        401: ERROR,
        403: ERROR,
    },
)
@api_view(["GET"])
@permission_classes(STAFF_ONLY)
def collection_list_get(request):
    wanted = request.query_params.get("state", "")
    if wanted and wanted not in COLLECTION_STATES:
        raise serializers.ValidationError(
            {"state": [f"'{wanted}' is not one of: {', '.join(COLLECTION_STATES)}."]}
        )
    now = collections.under_way()
    found, meta = paginate(request, collections.history(now, state_named(wanted)))
    workers = workers_online()
    objects = [collection_json(run, workers) for run in collections.as_known(found, now)]
    return Response({"meta": meta, "objects": objects})


@extend_schema(
    operation_id="collections_create",
    summary="Tidy up the registry's storage now (staff)",
    description=(
        "Queues a garbage collection for a worker and answers at once, 202 with it (`Queued`); "
        "it then appears in the list, Running and then Done or Failed. Pushes and pulls go on "
        "while it runs. 409 while one runs or waits. Takes no fields."
    ),
    request=CollectionRequestSerializer,
    responses={202: CollectionSerializer, 400: ERROR, 401: ERROR, 403: ERROR, 409: ERROR},
)
@api_view(["POST"])
@permission_classes(STAFF_ONLY)
def collection_list_post(request):
    CollectionRequestSerializer(data=request.data or {}).is_valid(raise_exception=True)
    run = collections.ask(request.user.get_username())
    return Response(collection_json(run, workers_online()), status=status.HTTP_202_ACCEPTED)


collection_list = dispatch(get=collection_list_get, post=collection_list_post)


@extend_schema(
    operation_id="collections_retrieve",
    summary="One garbage collection (staff)",
    parameters=[COLLECTION_ID],
    responses={200: CollectionSerializer, 401: ERROR, 403: ERROR, 404: ERROR},
)
@api_view(["GET"])
@permission_classes(STAFF_ONLY)
def collection_detail(request, collection_id: int):
    run = Collection.objects.filter(pk=collection_id).first()
    if run is None:
        raise Http404(f"No garbage collection {collection_id}.")
    [run] = collections.as_known([run], collections.under_way())
    return Response(collection_json(run, workers_online()))
