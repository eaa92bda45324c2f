"""Routes of webhooks: the events they may choose, their list (and adding one), one webhook,
its secret, a test event, its delivery log, one delivery and sending it again."""

from __future__ import annotations

from django.urls import path

from api.webhooks import views

urlpatterns = [
    path("webhook-event/", views.event_list, name="webhook-event-list"),
    path("webhook/", views.webhook_list, name="webhook-list"),
    path("webhook/<uuid:webhook_uuid>/", views.webhook_detail, name="webhook-detail"),
    path("webhook/<uuid:webhook_uuid>/secret/", views.webhook_secret, name="webhook-secret"),
    path("webhook/<uuid:webhook_uuid>/test/", views.webhook_test, name="webhook-test"),
    path(
        "webhook/<uuid:webhook_uuid>/delivery/", views.delivery_list, name="webhook-delivery-list"
    ),
    path(
        "webhook/<uuid:webhook_uuid>/delivery/<int:delivery_id>/",
        views.delivery_detail,
        name="webhook-delivery-detail",
    ),
    path(
        "webhook/<uuid:webhook_uuid>/delivery/<int:delivery_id>/send-again/",
        views.delivery_send_again,
        name="webhook-delivery-send-again",
    ),
]
