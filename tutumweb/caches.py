"""Django's Redis cache (REDIS_URL), with an answer for when Redis does not answer.

Most caches only save work: sessions (read from the database on a miss), remembered password
checks (checked again), pages' fragments, storage sizes. For them a Redis that is down or slow
is a miss and a write not made, and the request goes on. The rate limits' counts are the
point of their cache: there (REFUSE_WHEN_DOWN) the request is refused with a "try again"
rather than let through uncounted.

After a failure this process leaves Redis alone for PAUSE_SECONDS, for every cache on that
server: a Redis that does not answer costs a request its timeout once, not once per cache call.
A write or delete that failed may have left an old value in Redis (a signed-out session, if
Redis was only out of reach): those keys are deleted as soon as Redis answers again.
"""

from __future__ import annotations

import logging
import threading
import time
from functools import partial

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from redis.exceptions import RedisError

from lib.errors import TryLater

log = logging.getLogger(__name__)

PAUSE_SECONDS = 5.0
# Keys whose write failed are remembered up to this many; past it, a whole cache is cleared.
MAX_UNSURE_KEYS = 10_000

_lock = threading.Lock()
# Per server (its URLs, never logged: they may hold a password), shared by this process's threads.
_paused_until: dict[tuple[str, ...], float] = {}
_unsure_keys: dict[tuple[str, ...], set[str]] = {}
_unsure_prefixes: dict[tuple[str, ...], set[str]] = {}


class RedisCache(DjangoRedisCache):
    def __init__(self, server, params):
        options = dict(params.get("OPTIONS", {}))
        self.refuse_when_down = bool(options.pop("REFUSE_WHEN_DOWN", False))
        super().__init__(server, {**params, "OPTIONS": options})
        self._server = tuple(self._servers)

    # Reads: a miss when Redis is down.
    def get(self, key, default=None, version=None):
        return self._read(partial(super().get, key, default, version), default)

    def get_many(self, keys, version=None):
        return self._read(partial(super().get_many, keys, version), {})

    def has_key(self, key, version=None):
        return self._read(partial(super().has_key, key, version), False)

    # Writes: not made when Redis is down, and the key deleted once it answers again.
    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._write(partial(super().add, key, value, timeout, version), [key], version)

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        self._write(partial(super().set, key, value, timeout, version), [key], version)

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        return self._write(partial(super().touch, key, timeout, version), [], version)

    def delete(self, key, version=None):
        return self._write(partial(super().delete, key, version), [key], version)

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        failed = self._write(partial(super().set_many, data, timeout, version), data, version)
        # Django's answer: the keys that were not set.
        return list(data) if failed is False else failed

    def delete_many(self, keys, version=None):
        self._write(partial(super().delete_many, keys, version), keys, version)

    def incr(self, key, delta=1, version=None):
        answer = self._write(partial(super().incr, key, delta, version), [key], version)
        if answer is False:
            raise ValueError(f"Key '{key}' not found.")
        return answer

    def clear(self):
        """Delete this cache's keys only: the others share the database (and, in
        `super().clear()`, FLUSHDB would empty theirs too)."""
        if not self.key_prefix:
            return self._write(super().clear, [], None)
        return self._write(partial(self._delete_prefixed, self.key_prefix), [], None)

    def _delete_prefixed(self, prefix: str) -> bool:
        client = self._cache.get_client(None, write=True)
        keys = list(client.scan_iter(match=f"{_glob_escape(prefix)}:*", count=1000))
        for start in range(0, len(keys), 1000):
            client.unlink(*keys[start : start + 1000])
        return True

    def _read(self, call, when_down):
        try:
            self._ready()
            return call()
        except RedisError as error:
            self._failed(error)
        return self._down(when_down)

    def _write(self, call, keys, version):
        try:
            self._ready()
            return call()
        except RedisError as error:
            self._failed(error)
            self._remember_unsure([self.make_key(key, version) for key in keys])
        return self._down(False)

    def _down(self, answer):
        if self.refuse_when_down:
            raise TryLater(
                "Requests like this are counted, and counting is not possible right now. "
                "Try again in a minute.",
                retry_after=60,
            )
        return answer

    def _ready(self) -> None:
        """Raise at once while paused; once Redis answers again, delete what may be stale."""
        if time.monotonic() < _paused_until.get(self._server, 0.0):
            raise _Paused
        if not (_unsure_keys.get(self._server) or _unsure_prefixes.get(self._server)):
            return
        with _lock:
            keys = _unsure_keys.pop(self._server, set())
            prefixes = _unsure_prefixes.pop(self._server, set())
        try:
            if keys:
                self._cache.delete_many(list(keys))
            for prefix in prefixes:
                self._delete_prefixed(prefix)
        except RedisError:
            with _lock:
                _unsure_keys.setdefault(self._server, set()).update(keys)
                _unsure_prefixes.setdefault(self._server, set()).update(prefixes)
            raise
        log.info("Redis answers again: %d keys written while it did not are deleted", len(keys))

    def _failed(self, error: RedisError) -> None:
        if isinstance(error, _Paused):
            return
        with _lock:
            _paused_until[self._server] = time.monotonic() + PAUSE_SECONDS
        # The error names host and port, never the URL's password.
        log.warning(
            "Redis does not answer (%s: %s); caches go without it for %s s",
            type(error).__name__,
            error,
            PAUSE_SECONDS,
        )

    def _remember_unsure(self, keys: list[str]) -> None:
        with _lock:
            unsure = _unsure_keys.setdefault(self._server, set())
            if len(unsure) + len(keys) <= MAX_UNSURE_KEYS:
                unsure.update(keys)
            elif self.key_prefix:
                _unsure_prefixes.setdefault(self._server, set()).add(self.key_prefix)


class _Paused(RedisError):
    """Redis failed moments ago: not asked again yet."""


def _glob_escape(text: str) -> str:
    """`text` matched literally by a Redis SCAN pattern."""
    return "".join(f"\\{c}" if c in "*?[]\\" else c for c in text)
