from __future__ import annotations

from django.apps import AppConfig


class RecordsConfig(AppConfig):
    """Every model. The label stays `api`, where the models began, so tables (`api_image`, ...),
    migration history and content types are what existing databases already have."""

    name = "records"
    label = "api"
    verbose_name = "Tutum API"
