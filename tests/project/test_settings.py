"""Settings read from the environment, as a deployment sets them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_python(script: str, **environment: str) -> subprocess.CompletedProcess:
    """`script` in a process of its own with these settings in its environment."""
    env = {
        "PATH": os.environ["PATH"],
        "DJANGO_SETTINGS_MODULE": "tutumweb.settings",
        "SECRET_KEY": "a-deployment-secret-key-for-this-test",
        **environment,
    }
    return subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True
    )


def settings_under(**environment: str) -> dict:
    script = (
        "import json, django; django.setup(); from django.conf import settings as s; "
        "print(json.dumps({'proxy': s.SECURE_PROXY_SSL_HEADER, 'hsts': s.SECURE_HSTS_SECONDS, "
        "'engine': s.SESSION_ENGINE, 'limit': s.AXES_FAILURE_LIMIT, "
        "'lockout': s.AXES_COOLOFF_TIME.total_seconds(), 'cache': s.BUILD_CACHE_MAX_MB, "
        "'caches': {alias: [c['BACKEND'].rsplit('.', 1)[-1], c.get('KEY_PREFIX', '')] "
        "for alias, c in s.CACHES.items()}, 'session_cache': s.SESSION_CACHE_ALIAS}))"
    )
    result = run_python(script, **environment)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def refused_settings(**environment: str) -> str:
    """The error a process with these settings stops with."""
    result = run_python("import django; django.setup()", **environment)
    assert result.returncode != 0
    return result.stderr.strip().splitlines()[-1]


def test_the_defaults_trust_no_proxy_and_send_no_hsts(tmp_path):
    values = settings_under(DATA_DIR=str(tmp_path))

    assert values["proxy"] is None
    assert values["hsts"] == 0
    assert (values["limit"], values["lockout"], values["cache"]) == (10, 900, 10240)


def test_without_redis_sessions_are_in_the_database_and_no_cache_directory_is_made(tmp_path):
    values = settings_under(DATA_DIR=str(tmp_path))

    assert values["engine"] == "django.contrib.sessions.backends.db"
    assert values["caches"] == {
        "default": ["LocMemCache", ""],
        "password-checks": ["LocMemCache", ""],
        "kept": ["LocMemCache", ""],
        "rate-limits": ["DatabaseCache", ""],
        "shared": ["DatabaseCache", ""],
    }
    saved = run_python(SAVE_A_SESSION, DATA_DIR=str(tmp_path))
    assert saved.returncode == 0, saved.stderr
    assert saved.stdout.strip() == "1 session row"
    assert {path.name for path in tmp_path.iterdir()} <= {
        "db.sqlite3",
        "db.sqlite3-wal",
        "db.sqlite3-shm",
    }


SAVE_A_SESSION = """
import django; django.setup()
from django.conf import settings
from django.contrib.sessions.models import Session
from django.core.management import call_command
from importlib import import_module
call_command("migrate", "sessions", verbosity=0)
session = import_module(settings.SESSION_ENGINE).SessionStore()
session["tutum_api"] = {"username": "alice"}
session.save()
print(Session.objects.count(), "session row")
"""


def test_with_redis_every_shared_cache_and_the_sessions_use_it_each_under_its_prefix(tmp_path):
    values = settings_under(DATA_DIR=str(tmp_path), REDIS_URL="rediss://:pw@redis.internal:6380/2")

    assert values["engine"] == "django.contrib.sessions.backends.cached_db"
    assert values["session_cache"] == "sessions"
    assert values["caches"] == {
        "default": ["RedisCache", "tutumweb:default"],
        "password-checks": ["RedisCache", "tutumweb:password-checks"],
        # Megabytes an entry, each process's own.
        "kept": ["LocMemCache", ""],
        "rate-limits": ["RedisCache", "tutumweb:rate-limits"],
        "shared": ["RedisCache", "tutumweb:shared"],
        "sessions": ["RedisCache", "tutumweb:sessions"],
    }


def test_a_redis_url_that_is_not_one_is_refused_by_name(tmp_path):
    error = refused_settings(DATA_DIR=str(tmp_path), REDIS_URL="127.0.0.1:6379")

    assert error.endswith("REDIS_URL must start with redis://, rediss:// or unix://.")


def test_a_deployment_behind_https_sets_them(tmp_path):
    values = settings_under(
        DATA_DIR=str(tmp_path),
        TRUST_X_FORWARDED_PROTO="1",
        HSTS_SECONDS="31536000",
        LOGIN_FAILURE_LIMIT="5",
        LOGIN_LOCKOUT_MINUTES="30",
        BUILD_CACHE_MAX_MB="2048",
    )

    assert values["proxy"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert values["hsts"] == 31536000
    assert (values["limit"], values["lockout"], values["cache"]) == (5, 1800, 2048)
