"""/api/v1/ routes, each resource's from its own package. Image names are raw (slashes,
host:port), so of two routes that match a path the first wins: the order below matters."""

from __future__ import annotations

from api.access import urls as access_urls
from api.accounts import urls as accounts_urls
from api.audit import urls as audit_urls
from api.bin import urls as bin_urls
from api.builds import urls as builds_urls
from api.collections import urls as collections_urls
from api.images import urls as images_urls
from api.people import urls as people_urls
from api.policies import urls as policies_urls
from api.registry_protocol import urls as registry_protocol_urls
from api.teams import urls as teams_urls
from api.webhooks import urls as webhooks_urls

urlpatterns = [
    # Spread rather than include()d, so each route stays a top-level pattern: a stand-in
    # server (tests/fixtures/urls_without_sessions.py) drops one by its name.
    *accounts_urls.urlpatterns,
    *people_urls.urlpatterns,
    *teams_urls.urlpatterns,
    *audit_urls.urlpatterns,
    *collections_urls.urlpatterns,
    *webhooks_urls.urlpatterns,
    *registry_protocol_urls.urlpatterns,
    # A tag's build and a tag before an image's extensions (`image/a/tag/access/` is tag
    # `access` of `a`), and every `image/<name>/<suffix>/` before the bare image name, which
    # matches any.
    *builds_urls.urlpatterns,
    *images_urls.urlpatterns,
    *policies_urls.urlpatterns,
    *bin_urls.urlpatterns,
    *access_urls.urlpatterns,
    *images_urls.image_urlpatterns,
]
