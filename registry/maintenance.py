"""Our registry's maintenance window: while garbage collection runs, nothing may write to the
registry (a blob pushed during the collection's mark and sweep could be swept from under the
manifest that needs it), so pushes and the API's own registry changes are refused with a
plain "try again in a minute"."""

from __future__ import annotations

from rest_framework import exceptions

from records.models import Maintenance

MESSAGE = (
    "Our registry is tidying up its storage, which takes a minute or so: "
    "try again in a minute. Nothing was changed."
)


class Unavailable(exceptions.APIException):
    status_code = 503
    default_detail = MESSAGE
    wait = 60  # DRF's exception handler sends it as Retry-After


def is_on() -> bool:
    return Maintenance.objects.filter(pk=1, started__isnull=False).exists()
