"""The audit trail (extension): who changed what, when and from where. Each person reads their
own actions, a team's Owners everything in the team, staff everything. The actions it records
are listed with the words people read them in, so the admin need keep no copy."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.decorators import api_view
from rest_framework.response import Response

from api.audit.shapes import (
    ACTION_CODES,
    AuditActionListSerializer,
    AuditEventSerializer,
    action_list_json,
    event_json,
)
from api.core.pagination import envelope_serializer, paginate
from api.core.schema import ERROR, PAGE_PARAMS
from audit import trail
from teams import membership


@extend_schema(
    operation_id="audit_list",
    summary="The audit trail you may read, newest first",
    description=(
        "Your own actions; with `team`, everything in a team you are an Owner of; staff read "
        f"everything. Kept AUDIT_DAYS days. Actions: {', '.join(ACTION_CODES)}."
    ),
    parameters=[
        *PAGE_PARAMS,
        OpenApiParameter("team", str, description="Only this team's (its Owners and staff)."),
        OpenApiParameter("actor", str, description="Only what this username or token did."),
        OpenApiParameter("action", str, enum=ACTION_CODES),
        OpenApiParameter("target", str, description="Part of what was changed (its name)."),
    ],
    responses={
        200: envelope_serializer("AuditList", AuditEventSerializer(many=True)),
        400: ERROR,
        401: ERROR,
        403: ERROR,
        404: ERROR,
    },
)
@api_view(["GET"])
def audit_list(request):
    events = trail.readable_by(request.user)
    params = request.query_params
    if team_name := params.get("team"):
        team, role = membership.get_team(request.user, team_name)
        membership.require_owner(team, role)
        events = trail.of_team(team)
    if actor := params.get("actor"):
        events = events.filter(actor_name=actor)
    if action := params.get("action"):
        if action not in trail.ACTIONS:
            raise serializers.ValidationError(
                {"action": [f"'{action}' is not one of: {', '.join(ACTION_CODES)}."]}
            )
        events = events.filter(action=action)
    if target := params.get("target"):
        events = events.filter(target__icontains=target)
    found, meta = paginate(request, events)
    return Response({"meta": meta, "objects": [event_json(e) for e in found]})


@extend_schema(
    operation_id="audit_actions_list",
    summary="Every action the audit trail records, with the words to show it in",
    description=(
        "In the trail's own order: each action's code (what `action` filters on), its `label`, "
        "a short past-tense sentence for a row or a filter ('Deleted a tag'), and its "
        "`description`."
    ),
    responses={200: AuditActionListSerializer, 401: ERROR},
)
@api_view(["GET"])
def audit_action_list(request):
    return Response(action_list_json())
