"""Routes of garbage collections: their list (and starting one), and one run."""

from __future__ import annotations

from django.urls import path

from api.collections import views

urlpatterns = [
    path("collection/", views.collection_list, name="collection-list"),
    path("collection/<int:collection_id>/", views.collection_detail, name="collection-detail"),
]
