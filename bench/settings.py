"""Benchmark settings: the project's own, plus a baseline view next to the real API."""

from tutumweb.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
LOGGING = {"version": 1, "disable_existing_loggers": True}
WHITENOISE_AUTOREFRESH = False
WHITENOISE_USE_FINDERS = True
