"""The web admin's only way to the Tutum API: HTTP, typed results, typed errors.

Works against our own API or any Tutum-compatible server at settings.TUTUM_API_URL. Errors
are never turned into empty results: a page that should list images and can't says why.

`http` is the transport (one session, the errors, credentials, pages); every other module is
one of the API's resources, named as in `api/<resource>/`, with its dataclasses, the parsers
that make them from the API's JSON (one `_<dataclass>(data)` function below each) and the
calls. Views import the resource modules: `from images.services import teams as team_service`.
"""
