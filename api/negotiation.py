"""Request bodies are JSON whatever their Content-Type says or omits, as Tutum's server read them.

go-tutum sends POST and PATCH bodies without a Content-Type header, which DRF would answer
with 415 Unsupported Media Type.
"""

from __future__ import annotations

from rest_framework.negotiation import DefaultContentNegotiation


class JsonWhateverTheContentType(DefaultContentNegotiation):
    def select_parser(self, request, parsers):
        return super().select_parser(request, parsers) or (parsers[0] if parsers else None)
