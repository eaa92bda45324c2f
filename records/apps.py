from __future__ import annotations

from django.apps import AppConfig
from django.db.models.signals import post_migrate

from records import counting, name_search


class RecordsConfig(AppConfig):
    """Every model. The label stays `api`, where the models began, so tables (`api_image`, ...),
    migration history and content types are what existing databases already have."""

    name = "records"
    label = "api"
    verbose_name = "Tutum API"

    def ready(self) -> None:
        post_migrate.connect(name_search.repair, sender=self, dispatch_uid="image_name_search")
        post_migrate.connect(counting.repair, sender=self, dispatch_uid="image_counts")
