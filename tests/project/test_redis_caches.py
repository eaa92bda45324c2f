"""The caches on a real Redis (tutumweb/caches.py): each alias in its own keys, and what a
Redis that stops answering costs."""

from __future__ import annotations

import logging
import signal
import time
from contextlib import contextmanager

import pytest
from django.core.cache import caches

from tutumweb import caches as redis_caches


@contextmanager
def frozen(server):
    """Redis stopped in its tracks (SIGSTOP): connections open, nothing answered, its data
    kept, as a Redis out of reach for a while."""
    server.process.send_signal(signal.SIGSTOP)
    try:
        yield
    finally:
        server.process.send_signal(signal.SIGCONT)


def test_each_cache_keeps_its_own_keys_and_clearing_one_leaves_the_others(on_redis, redis_server):
    on_redis(redis_server)
    for alias in ("default", "sessions", "password-checks", "rate-limits", "shared"):
        caches[alias].set("same-name", alias)

    caches["password-checks"].clear()

    assert caches["default"].get("same-name") == "default"
    assert caches["sessions"].get("same-name") == "sessions"
    assert caches["password-checks"].get("same-name") is None
    assert redis_server.keys("tutumweb:*") == [
        "tutumweb:default:1:same-name",
        "tutumweb:rate-limits:1:same-name",
        "tutumweb:sessions:1:same-name",
        "tutumweb:shared:1:same-name",
    ]


def test_a_redis_that_does_not_answer_is_a_miss_and_is_left_alone_for_a_while(
    on_redis, own_redis, caplog
):
    on_redis(own_redis)
    caches["default"].set("kept", "value")

    with frozen(own_redis), caplog.at_level(logging.WARNING, logger="tutumweb.caches"):
        answers = [caches["default"].get("kept"), caches["sessions"].get("kept")]
        caches["shared"].set("other", 1)
        computed = caches["default"].get_or_set("new", lambda: "computed")

    assert answers == [None, None]
    assert computed == "computed"
    # One wait for the timeout, then every cache on that server went without asking.
    [warning] = caplog.records
    assert warning.getMessage().startswith("Redis does not answer (TimeoutError")
    assert own_redis.url not in caplog.text


def test_a_delete_skipped_while_redis_did_not_answer_is_made_once_it_does(
    on_redis, own_redis, monkeypatch
):
    """A sign-out while Redis was out of reach must not leave the session in it for later."""
    monkeypatch.setattr(redis_caches, "PAUSE_SECONDS", 1.0)
    on_redis(own_redis)
    caches["sessions"].set("signed-in", {"who": "alice"})
    with frozen(own_redis):
        caches["default"].get("anything")  # times out: Redis is left alone for a second

    assert caches["sessions"].delete("signed-in") is False  # not even asked
    assert own_redis.keys("tutumweb:sessions:*") == ["tutumweb:sessions:1:signed-in"]
    time.sleep(1.1)
    caches["default"].get("anything")

    assert own_redis.keys("tutumweb:sessions:*") == []
    assert caches["sessions"].get("signed-in") is None


def test_while_redis_is_down_the_rate_limits_refuse(on_redis, own_redis):
    from lib.errors import TryLater

    on_redis(own_redis)
    own_redis.stop()

    with pytest.raises(TryLater):
        caches["rate-limits"].get("count")
    assert caches["default"].get("count") is None
