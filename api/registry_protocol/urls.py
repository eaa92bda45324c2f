"""Routes our registry calls: its token realm and its push notifications."""

from __future__ import annotations

from django.urls import path

from api.registry_protocol import views

urlpatterns = [
    path("registry-token/", views.registry_token, name="registry-token"),
    path("registry-events/", views.registry_events, name="registry-events"),
]
