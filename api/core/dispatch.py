"""One function per HTTP verb, joined into the one view a URL needs.

Each verb is its own `@api_view([...])` function with its own `@extend_schema`, permissions
and `@token_allowed` mark; `dispatch(get=..., patch=..., delete=...)` routes a request to
the function for its method, so no view branches on `request.method`:

    apikey_detail = dispatch(get=apikey_get, patch=apikey_patch, delete=apikey_delete)

Any other method (OPTIONS, HEAD, or one the URL does not take) goes to a view that allows
exactly the verbs given, so DRF answers it as it would one view taking them all:
authentication first, then 405 with the right `Allow` header, or OPTIONS' metadata. When
every verb has the same authentication or permission classes (a URL open to anyone, such as
a webhook), that view has them too.

drf-spectacular documents a URL by the DRF class its callback names (`cls`, `initkwargs`);
the joined class takes each verb's handler, which carries that verb's schema, so every verb
keeps its own documentation and operation id.
"""

from __future__ import annotations

import os

from django.views.decorators.csrf import csrf_exempt
from rest_framework.decorators import api_view
from rest_framework.views import APIView

from api.core.permissions import TOKEN_METHODS


def dispatch(**views):
    by_method = {method.upper(): view for method, view in views.items()}
    for method, view in by_method.items():
        if method.lower() not in view.cls.http_method_names:
            raise TypeError(f"The view given for {method} does not take {method}.")

    shared = _shared_policies(list(by_method.values()))

    @api_view(list(views))
    def others(request, *args, **kwargs):  # pragma: no cover: DRF answers before calling it
        raise AssertionError("dispatch routes every verb it was given to its own view")

    # It answers as the one view the URL was: with the authentication, permissions and
    # throttles its verbs share (an open endpoint's 405 needs no credentials, and its schema,
    # from the joined class below, says so), and named as OPTIONS showed it (`signup_get`,
    # `signup_post` -> "Signup").
    for name, classes in shared.items():
        setattr(others.cls, name, classes)
    common = os.path.commonprefix([view.cls.__name__ for view in views.values()])
    others.cls.__name__ = common.rstrip("_") or "others"
    # Every answer's `Allow` names all the URL's verbs, not only the one that answered.
    allowed = [m.upper() for m in others.cls.http_method_names]
    for verb_view in views.values():
        verb_view.cls.allowed_methods = allowed

    @csrf_exempt  # as every API view: clients authenticate each request, with no cookie
    def view(request, *args, **kwargs):
        return by_method.get(request.method, others)(request, *args, **kwargs)

    joined = type("Joined", (APIView,), dict(shared))
    joined.http_method_names = [m.lower() for m in views] + ["options"]
    for method, verb_view in views.items():
        setattr(joined, method.lower(), getattr(verb_view.cls, method.lower()))
    token_methods = {
        method
        for method, verb_view in by_method.items()
        if method in getattr(verb_view.cls, TOKEN_METHODS, ())
    }
    setattr(joined, TOKEN_METHODS, frozenset(token_methods))
    view.cls = joined
    view.initkwargs = {}
    view.__name__ = view.__qualname__ = "_".join(v.cls.__name__ for v in views.values())
    view.__doc__ = __doc__
    return view


def _shared_policies(views: list) -> dict[str, list]:
    """The authentication, permission and throttle classes all `views` have alike."""
    shared = {}
    for name in ("authentication_classes", "permission_classes", "throttle_classes"):
        found = {tuple(getattr(view.cls, name)) for view in views}
        if len(found) == 1:
            shared[name] = list(found.pop())
    return shared
