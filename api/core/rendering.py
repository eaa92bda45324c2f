"""Responses in JSON, with parts kept ready as JSON text put in as they are.

An image with 100,000 tags answers with 100,000 tag URIs (6 MB). Encoding them again for
every request cost more than the rest of it; api.images.kept keeps them as the text of a
JSON array, and a view puts that text in its answer as a `Kept` value. The encoder writes a
stand-in for each, which is then replaced by the kept text: the rest of the answer is
encoded as DRF encodes everything else.
"""

from __future__ import annotations

import re
import secrets

from rest_framework import renderers

# How the encoder writes a stand-in: a string of a NUL, "kept:", a random token and a NUL (a
# NUL is always escaped in JSON). Unguessable, so text someone wrote (a description) cannot
# pass for one; a string that looks like one but is not a stand-in stays as it was.
_STAND_IN = re.compile(rb'"\\u0000kept:([0-9a-f]{32})\\u0000"')


class Kept(str):
    """JSON text (`text`) to put in an answer as it is, where this value stands."""

    text: bytes

    def __new__(cls, text: bytes) -> Kept:
        kept = super().__new__(cls, f"\x00kept:{secrets.token_hex(16)}\x00")
        kept.text = text
        return kept

    @property
    def token(self) -> bytes:
        return self[6:-1].encode()


def mark(response, kept: list[Kept]):
    """Tell the renderer which `Kept` values the response's data holds."""
    response.kept = {value.token: value.text for value in kept}
    return response


class JSONRenderer(renderers.JSONRenderer):
    def render(self, data, accepted_media_type=None, renderer_context=None):
        body = super().render(data, accepted_media_type, renderer_context)
        response = (renderer_context or {}).get("response")
        kept = getattr(response, "kept", None)
        if not kept:
            return body
        return _STAND_IN.sub(lambda found: kept.get(found[1], found[0]), body)
