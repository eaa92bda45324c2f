"""Request bodies are JSON whatever their Content-Type says or omits, as Tutum's server read them.

go-tutum sends POST and PATCH bodies without a Content-Type header, which DRF would answer
with 415 Unsupported Media Type. Every body is read within a size and a depth limit.
"""

from __future__ import annotations

import json
import re

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.parsers import JSONParser


class JsonWhateverTheContentType(DefaultContentNegotiation):
    def select_parser(self, request, parsers):
        return super().select_parser(request, parsers) or (parsers[0] if parsers else None)


# Deeper than any body our API or the registry's notifications send; Python's JSON decoder
# recurses once per level, so `[` × 5,000 would exhaust the stack (a RecursionError, a 500).
MAX_DEPTH = 64
_STRINGS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKETS = re.compile(r"[^\[\]{}]+")


def max_body_bytes() -> int:
    """Django's own limit on a request body read in memory, also for the bodies DRF reads
    from the stream (which Django's check does not see)."""
    return settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 2_621_440


def _depth(text: str) -> int:
    """How deeply arrays and objects nest, brackets inside strings not counted."""
    depth = deepest = 0
    for char in _NOT_BRACKETS.sub("", _STRINGS.sub("", text)):
        depth += 1 if char in "[{" else -1
        deepest = max(deepest, depth)
    return deepest


def loads(raw: bytes):
    """A request body as JSON, within the size and depth limits; a ParseError (400) that
    names the limit otherwise."""
    limit = max_body_bytes()
    if len(raw) > limit:
        raise ParseError(f"The request body is larger than {limit} bytes.")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ParseError("The request body is not UTF-8 text.") from error
    if _depth(text) > MAX_DEPTH:
        raise ParseError(f"The request body nests arrays or objects deeper than {MAX_DEPTH}.")
    try:
        return json.loads(text)
    except ValueError as error:
        raise ParseError(f"JSON parse error - {error}") from error


class LimitedJSONParser(JSONParser):
    """DRF's JSON parser with the size and depth limits of `loads`."""

    def parse(self, stream, media_type=None, parser_context=None):
        return loads(stream.read(max_body_bytes() + 1))
