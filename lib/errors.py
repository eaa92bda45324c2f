"""The domain's own errors: what went wrong, in a sentence a person can read, and of which kind.

The domain packages raise these and nothing from an HTTP framework (an import-linter contract
says so); `api/core/errors.py` alone turns each kind into a response with its status. A kind
says what happened, not how to answer it:

- NotFound: nothing by that name (or nothing the caller may know of).
- Forbidden: it exists, and the caller may not do this to it.
- Conflict: the request is fine but the state of things refuses it now (already building,
  already registered, pushed again since).
- Invalid: input a rule refuses, per field or as a whole.
- Unavailable: something this needs could not be reached or failed (a registry, Docker Hub).
- TryLater: we are not taking this change right now (a backup copies the storage, a cache is
  down); retry later.
"""

from __future__ import annotations


class DomainError(Exception):
    default_message = "Something went wrong."

    def __init__(self, message: str | None = None):
        self.message = message or self.default_message
        super().__init__(self.message)


class NotFound(DomainError):
    default_message = "Not found."


class Forbidden(DomainError):
    default_message = "You do not have permission to perform this action."


class Conflict(DomainError):
    default_message = "Conflict."


class Invalid(DomainError):
    """Input a rule refuses: `Invalid({"tag": ["..."]})` per field, `Invalid("...")` as a whole
    (then `fields` is empty)."""

    default_message = "Invalid input."

    def __init__(self, problem: str | dict[str, list[str]]):
        if isinstance(problem, dict):
            self.fields = {name: list(messages) for name, messages in problem.items()}
            first = next((m for messages in self.fields.values() for m in messages), None)
            super().__init__(first)
        else:
            self.fields = {}
            super().__init__(problem)


class Unavailable(DomainError):
    default_message = "A service this needs could not be reached."


class RegistryFailure(Unavailable):
    """A registry could not be reached, or answered in a way we could not use."""

    default_message = "The registry could not be reached."


class TryLater(DomainError):
    """Not now: `retry_after` says in how many seconds asking again may work."""

    default_message = "Try again later."

    def __init__(self, message: str | None = None, *, retry_after: int | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class TooManyTries(TryLater):
    """Too many tries of something guessable (a sign-in code) in a while: paused for
    `retry_after` seconds."""

    default_message = "Too many tries: wait a while, then try again."
