"""For load balancers and orchestrators: `/healthz` says the process answers, `/readyz` that
what it needs answers too (the database, our registry, Redis when REDIS_URL is set). Neither
needs signing in, and neither says more than which part is missing: the reason goes to the
log."""

from __future__ import annotations

import logging

import redis
from django.conf import settings
from django.db import DatabaseError, connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from lib import outbound

log = logging.getLogger(__name__)

# A readiness probe runs every few seconds: a part that takes longer than this is not ready.
TIMEOUT_SECONDS = 2.0


@never_cache
@require_GET
def healthz(request):
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def readyz(request):
    checks = {"database": _database(), "registry": _registry()}
    if settings.REDIS_URL:
        checks["redis"] = _redis()
    ready = all(state == "ok" for state in checks.values())
    body = {"status": "ok" if ready else "unavailable", "checks": checks}
    return JsonResponse(body, status=200 if ready else 503)


def _database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        log.exception("readyz: the database does not answer")
        return "unreachable"
    return "ok"


def _registry() -> str:
    """Our registry answers its health check (`/`: 200, or 503 once its storage fails; not
    `/v2/`, whose 401 the registry logs as a warning, every few seconds under a balancer).
    Sent as every request to it is (registry.client): the operator's address, trusted by the
    outbound policy, with the CA bundle the environment names."""
    url = f"{settings.REGISTRY_URL}/"
    try:
        with outbound.session() as session:
            answer = outbound.send(
                session,
                "GET",
                url,
                trusted=[outbound.origin_of(url)],
                timeout=TIMEOUT_SECONDS,
            )
    except (outbound.Unreachable, outbound.TooLarge):
        log.exception("readyz: our registry at %s does not answer", settings.REGISTRY_URL)
        return "unreachable"
    if answer.status_code >= 500:
        log.error("readyz: our registry answers %s", answer.status_code)
        return "failing"
    return "ok"


def _redis() -> str:
    """Redis answers PING. A connection of its own, not the caches': they stop asking Redis
    for a while after a failure (tutumweb/caches.py), and this answer must say how Redis is now."""
    client = redis.Redis.from_url(
        settings.REDIS_URL,
        socket_connect_timeout=TIMEOUT_SECONDS,
        socket_timeout=TIMEOUT_SECONDS,
    )
    try:
        client.ping()
    except redis.RedisError as error:
        # redis-py counts a refused password and a Redis still loading as connection errors:
        # those answered.
        unreachable = isinstance(error, (redis.ConnectionError, redis.TimeoutError))
        answered = isinstance(error, (redis.AuthenticationError, redis.BusyLoadingError))
        # The log names the error, never REDIS_URL: it may hold the password.
        log.exception(
            "readyz: Redis %s", "answers with an error" if answered else "does not answer"
        )
        return "unreachable" if unreachable and not answered else "failing"
    finally:
        client.close()
    return "ok"
