"""Wait until the API and the registry answer, then print where they are and how to log in."""

from __future__ import annotations

import os
import signal
import time

import requests
from django.conf import settings
from django.core.management.base import BaseCommand


def _wait_for(url: str, seconds: float = 60) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            requests.get(url, timeout=2)
            return True
        except requests.RequestException:
            time.sleep(0.5)
    return False


class Command(BaseCommand):
    help = "Print the URLs and login once the servers are up, then wait (a Procfile process)."

    def add_arguments(self, parser):
        parser.add_argument("--no-wait", action="store_true", help="Exit after printing.")

    def handle(self, *args, no_wait: bool = False, **options):
        api = settings.API_PUBLIC_URL
        admin_url = f"http://{os.environ.get('ADMIN_BIND', '127.0.0.1:8001')}/"
        ok = (
            _wait_for(f"{api}/api/schema/")
            and _wait_for(f"{settings.REGISTRY_URL}/v2/")
            and _wait_for(f"{admin_url}login/")
        )
        # A placeholder, never a real key: this banner goes to logs that others may read.
        key = "<your API key>"
        lines = [
            "",
            "tutumweb is running" if ok else "tutumweb started, but a server did not answer yet",
            f"  Web admin:    {admin_url}   <- open this in your browser",
            f"  API:          {api}/api/v1/   (reference: {api}/api/docs/)",
            f"  Django admin: {api}/django-admin/   (staff: users, API keys, categories)",
            f"  Registry:     {settings.REGISTRY_HOST}",
            f"  Builds:       cloned from {settings.GIT_BASE_URL}/<owner>/<repository>.git",
            "  Login:        username admin, with the password printed when the account was made",
            "                (or TUTUMWEB_ADMIN_PASSWORD)",
            "",
            "  Try it, with an API key from the web admin (Your account, then API keys):",
            f"    curl -H 'Authorization: ApiKey admin:{key}' {api}/api/v1/image/",
            f"    buildah login --tls-verify=false -u admin -p {key} {settings.REGISTRY_HOST}",
            "",
            "  Ctrl-C stops everything.",
            "",
        ]
        self.stdout.write("\n".join(lines))
        self.stdout.flush()
        if not no_wait:
            signal.pause()
