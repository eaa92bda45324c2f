"""The audit trail's routes: its events, and the actions it records."""

from __future__ import annotations

from django.urls import path

from api.audit import views

urlpatterns = [
    path("audit/", views.audit_list, name="audit-list"),
    path("audit/action/", views.audit_action_list, name="audit-action-list"),
]
