"""Errors any layer may raise that the API answers with their own status (DRF exceptions)."""

from __future__ import annotations

from rest_framework import exceptions


class Conflict(exceptions.APIException):
    status_code = 409
    default_detail = "Conflict."


class RegistryFailure(exceptions.APIException):
    status_code = 502
    default_detail = "The registry could not be reached."
