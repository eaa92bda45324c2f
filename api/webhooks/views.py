"""Webhooks (extension): a namespace's or an image's, managed by their Owners; each one's
delivery log, a test event, sending a delivery again, a new secret. One function per HTTP
verb, joined per URL by api.core.dispatch."""

from __future__ import annotations

from django.db.models import OuterRef, Subquery
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import api_view
from rest_framework.response import Response

from api.access.shapes import whole_list
from api.core import formats
from api.core.auditing import note
from api.core.dispatch import dispatch
from api.core.pagination import envelope_serializer, paginate
from api.core.permissions import get_image, visible_images
from api.core.schema import ERROR, PAGE_PARAMS
from api.webhooks.shapes import (
    DELIVERY_STATES,
    ChangeSerializer,
    CreateSerializer,
    DeliverySerializer,
    EmptySerializer,
    EventSerializer,
    OutgoingWebhookSerializer,
    OutgoingWebhookWithSecretSerializer,
    SecretSerializer,
    delivery_json,
    event_json,
    webhook_json,
)
from lib.errors import NotFound
from records.models import WebhookDelivery
from webhooks import events, subscriptions

WEBHOOK_UUID = OpenApiParameter("webhook_uuid", str, OpenApiParameter.PATH)
DELIVERY_ID = OpenApiParameter("delivery_id", int, OpenApiParameter.PATH)
NAMESPACE_FILTER = OpenApiParameter(
    "namespace",
    str,
    description="Only this namespace's webhooks (its images' too); 403 for a team member who "
    "is not an Owner, 404 for anyone else.",
)
IMAGE_FILTER = OpenApiParameter(
    "image", str, description="Only the webhooks of this image; 403 or 404 as for `namespace`."
)
STATE_FILTER = OpenApiParameter(
    "state", str, enum=DELIVERY_STATES, description="Only the deliveries in this state."
)


def _last_deliveries(webhooks) -> dict[int, WebhookDelivery]:
    ids = [w.last_delivery_id for w in webhooks if w.last_delivery_id]
    return {d.webhook_id: d for d in WebhookDelivery.objects.filter(pk__in=ids)}


def _with_last(queryset):
    newest = WebhookDelivery.objects.filter(webhook=OuterRef("pk")).order_by("-created", "-id")
    return queryset.annotate(last_delivery_id=Subquery(newest.values("pk")[:1]))


def _one(webhook) -> dict:
    [webhook] = _with_last(type(webhook).objects.filter(pk=webhook.pk))
    return webhook_json(webhook, _last_deliveries([webhook]).get(webhook.pk))


@extend_schema(
    operation_id="webhook_events_list",
    summary="The events a webhook may choose, each with what it means",
    responses={
        200: envelope_serializer("WebhookEventList", EventSerializer(many=True)),
        401: ERROR,
    },
)
@api_view(["GET"])
def event_list(request):
    return Response(whole_list([event_json(name, label) for name, label in events.EVENTS.items()]))


@extend_schema(
    operation_id="webhooks_list",
    summary="The webhooks you manage (Owners; staff see all)",
    parameters=[NAMESPACE_FILTER, IMAGE_FILTER, *PAGE_PARAMS],
    responses={
        200: envelope_serializer("OutgoingWebhookList", OutgoingWebhookSerializer(many=True)),
        400: ERROR,
        401: ERROR,
        403: ERROR,
        404: ERROR,
    },
)
@api_view(["GET"])
def webhook_list_get(request):
    found = subscriptions.manageable_by(request.user)
    # A namespace or image named is one whose webhooks the caller asks for as theirs: a Writer
    # is told why not (403), as on each webhook, rather than shown an empty list.
    namespace = request.query_params.get("namespace", "")
    if namespace:
        subscriptions.target(request.user, namespace=namespace)
        found = found.filter(namespace=namespace)
    image_name = request.query_params.get("image", "")
    if image_name:
        # Not get_image: a filter never looks a public name up.
        image = visible_images(request.user).filter(name=image_name).first()
        if image is None:
            raise NotFound(f"No image named {image_name}.")
        subscriptions.target(request.user, image=image)
        found = found.filter(image_name=image_name)
    page, meta = paginate(request, _with_last(found.order_by("namespace", "image_name", "id")))
    last = _last_deliveries(page)
    return Response({"meta": meta, "objects": [webhook_json(w, last.get(w.pk)) for w in page]})


@extend_schema(
    operation_id="webhooks_create",
    summary="Add a webhook to a namespace or an image (its Owners)",
    description=(
        "Give `namespace` (every image of a team or of yours) or `image` (one image). The URL "
        "must reach a public address: loopback, link-local, private addresses and this server "
        "itself are refused unless staff allow the host (OUTBOUND_ALLOW). The answer holds "
        "`secret`, shown this once: receivers check each delivery's signature with it."
    ),
    request=CreateSerializer,
    responses={
        201: OutgoingWebhookWithSecretSerializer,
        400: ERROR,
        401: ERROR,
        403: ERROR,
        404: ERROR,
    },
)
@api_view(["POST"])
def webhook_list_post(request):
    body = CreateSerializer(data=request.data)
    body.is_valid(raise_exception=True)
    fields = dict(body.validated_data)
    namespace, image_name = fields.pop("namespace", ""), fields.pop("image", "")
    image = get_image(request, image_name) if image_name else None
    webhook, secret = subscriptions.create(request.user, fields, namespace=namespace, image=image)
    note(
        request,
        "webhook.create",
        webhook.image_name or webhook.namespace,
        team=webhook.team_id,
        url=webhook.url,
        events=webhook.events,
    )
    return Response({**_one(webhook), "secret": secret}, status=status.HTTP_201_CREATED)


webhook_list = dispatch(get=webhook_list_get, post=webhook_list_post)


@extend_schema(
    operation_id="webhooks_retrieve",
    summary="One webhook (its Owners)",
    parameters=[WEBHOOK_UUID],
    responses={200: OutgoingWebhookSerializer, 401: ERROR, 403: ERROR, 404: ERROR},
)
@api_view(["GET"])
def webhook_detail_get(request, webhook_uuid):
    return Response(_one(subscriptions.get(request.user, webhook_uuid)))


@extend_schema(
    operation_id="webhooks_partial_update",
    summary="Change a webhook (its Owners); `enabled: true` resumes a paused one",
    parameters=[WEBHOOK_UUID],
    request=ChangeSerializer(partial=True),
    responses={200: OutgoingWebhookSerializer, 400: ERROR, 401: ERROR, 403: ERROR, 404: ERROR},
)
@api_view(["PATCH"])
def webhook_detail_patch(request, webhook_uuid):
    webhook = subscriptions.get(request.user, webhook_uuid)
    body = ChangeSerializer(data=request.data, partial=True)
    body.is_valid(raise_exception=True)
    webhook = subscriptions.change(webhook, dict(body.validated_data))
    note(
        request,
        "webhook.edit",
        webhook.image_name or webhook.namespace,
        team=webhook.team_id,
        url=webhook.url,
        changed=sorted(body.validated_data),
    )
    return Response(_one(webhook))


@extend_schema(
    operation_id="webhooks_destroy",
    summary="Remove a webhook and its delivery log (its Owners)",
    parameters=[WEBHOOK_UUID],
    responses={204: None, 401: ERROR, 403: ERROR, 404: ERROR},
)
@api_view(["DELETE"])
def webhook_detail_delete(request, webhook_uuid):
    webhook = subscriptions.get(request.user, webhook_uuid)
    note(
        request,
        "webhook.delete",
        webhook.image_name or webhook.namespace,
        team=webhook.team_id,
        url=webhook.url,
    )
    webhook.delete()
    return Response(status=status.HTTP_204_NO_CONTENT)


webhook_detail = dispatch(
    get=webhook_detail_get, patch=webhook_detail_patch, delete=webhook_detail_delete
)


@extend_schema(
    operation_id="webhooks_secret",
    summary="A new secret for a webhook (its Owners); the old one signs too for 24 hours",
    parameters=[WEBHOOK_UUID],
    request=EmptySerializer,
    responses={200: SecretSerializer, 400: ERROR, 401: ERROR, 403: ERROR, 404: ERROR},
)
@api_view(["POST"])
def webhook_secret(request, webhook_uuid):
    webhook = subscriptions.get(request.user, webhook_uuid)
    EmptySerializer(data=request.data or {}).is_valid(raise_exception=True)
    secret = subscriptions.rotate_secret(webhook)
    note(
        request,
        "webhook.secret",
        webhook.image_name or webhook.namespace,
        team=webhook.team_id,
        url=webhook.url,
    )
    return Response(
        {
            "secret": secret,
            "previous_secret_until": formats.rfc2822(webhook.previous_secret_until),
        }
    )


@extend_schema(
    operation_id="webhooks_test",
    summary="Send a test event to a webhook now (its Owners)",
    description="Queued like any event: 202 with the delivery, whose log then shows the answer.",
    parameters=[WEBHOOK_UUID],
    request=EmptySerializer,
    responses={202: DeliverySerializer, 400: ERROR, 401: ERROR, 403: ERROR, 404: ERROR},
)
@api_view(["POST"])
def webhook_test(request, webhook_uuid):
    webhook = subscriptions.get(request.user, webhook_uuid)
    EmptySerializer(data=request.data or {}).is_valid(raise_exception=True)
    delivery = events.test_event(webhook, request.user.get_username())
    return Response(delivery_json(delivery), status=status.HTTP_202_ACCEPTED)


@extend_schema(
    operation_id="webhook_deliveries_list",
    summary="A webhook's delivery log, newest first, with every attempt (its Owners)",
    parameters=[WEBHOOK_UUID, STATE_FILTER, *PAGE_PARAMS],
    responses={
        200: envelope_serializer("DeliveryList", DeliverySerializer(many=True)),
        400: ERROR,
        401: ERROR,
        403: ERROR,
        404: ERROR,
    },
)
@api_view(["GET"])
def delivery_list(request, webhook_uuid):
    webhook = subscriptions.get(request.user, webhook_uuid)
    found = subscriptions.deliveries(webhook)
    wanted = request.query_params.get("state", "")
    if wanted:
        if wanted not in DELIVERY_STATES:
            raise serializers.ValidationError(
                {"state": [f"'{wanted}' is not one of: {', '.join(DELIVERY_STATES)}."]}
            )
        found = found.filter(state=wanted)
    page, meta = paginate(request, found)
    return Response({"meta": meta, "objects": [delivery_json(d) for d in page]})


@extend_schema(
    operation_id="webhook_deliveries_retrieve",
    summary="One delivery of a webhook, with every attempt (its Owners)",
    parameters=[WEBHOOK_UUID, DELIVERY_ID],
    responses={200: DeliverySerializer, 401: ERROR, 403: ERROR, 404: ERROR},
)
@api_view(["GET"])
def delivery_detail(request, webhook_uuid, delivery_id: int):
    webhook = subscriptions.get(request.user, webhook_uuid)
    return Response(delivery_json(subscriptions.delivery(webhook, delivery_id)))


@extend_schema(
    operation_id="webhook_deliveries_send_again",
    summary="Send a delivery again now, whatever became of it (its Owners)",
    description="The same message (id and body), signed afresh: 202, and the log shows it.",
    parameters=[WEBHOOK_UUID, DELIVERY_ID],
    request=EmptySerializer,
    responses={202: DeliverySerializer, 400: ERROR, 401: ERROR, 403: ERROR, 404: ERROR},
)
@api_view(["POST"])
def delivery_send_again(request, webhook_uuid, delivery_id: int):
    webhook = subscriptions.get(request.user, webhook_uuid)
    EmptySerializer(data=request.data or {}).is_valid(raise_exception=True)
    delivery = subscriptions.delivery(webhook, delivery_id)
    subscriptions.send_again(delivery)
    return Response(delivery_json(delivery), status=status.HTTP_202_ACCEPTED)
