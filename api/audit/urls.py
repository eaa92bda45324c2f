"""The audit trail's routes."""

from __future__ import annotations

from django.urls import path

from api.audit import views

urlpatterns = [
    path("audit/", views.audit_list, name="audit-list"),
]
