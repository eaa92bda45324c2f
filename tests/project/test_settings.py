"""Settings read from the environment, as a deployment sets them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def settings_under(**environment: str) -> dict:
    script = (
        "import json, django; django.setup(); from django.conf import settings as s; "
        "print(json.dumps({'proxy': s.SECURE_PROXY_SSL_HEADER, 'hsts': s.SECURE_HSTS_SECONDS, "
        "'engine': s.SESSION_ENGINE, 'limit': s.AXES_FAILURE_LIMIT, "
        "'lockout': s.AXES_COOLOFF_TIME.total_seconds(), 'cache': s.BUILD_CACHE_MAX_MB}))"
    )
    env = {
        "PATH": os.environ["PATH"],
        "DJANGO_SETTINGS_MODULE": "tutumweb.settings",
        "SECRET_KEY": "a-deployment-secret-key-for-this-test",
        **environment,
    }
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_the_defaults_trust_no_proxy_and_send_no_hsts(tmp_path):
    values = settings_under(DATA_DIR=str(tmp_path))

    assert values["proxy"] is None
    assert values["hsts"] == 0
    assert values["engine"] == "django.contrib.sessions.backends.cached_db"
    assert (values["limit"], values["lockout"], values["cache"]) == (10, 900, 10240)


def test_a_deployment_behind_https_sets_them(tmp_path):
    values = settings_under(
        DATA_DIR=str(tmp_path),
        TRUST_X_FORWARDED_PROTO="1",
        HSTS_SECONDS="31536000",
        SESSION_CACHE_DIR="off",
        LOGIN_FAILURE_LIMIT="5",
        LOGIN_LOCKOUT_MINUTES="30",
        BUILD_CACHE_MAX_MB="2048",
    )

    assert values["proxy"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert values["hsts"] == 31536000
    assert values["engine"] == "django.contrib.sessions.backends.db"
    assert (values["limit"], values["lockout"], values["cache"]) == (5, 1800, 2048)
