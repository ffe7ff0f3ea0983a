"""Exceptions the domain raises when a rule is broken.

Each carries a stable machine ``code``; the HTTP layer decides the status.
"""

from __future__ import annotations

from dataclasses import dataclass


class Message(str):
    """An English message that keeps its template and values, so that the HTTP layer can say
    it again in the reader's language (the domain knows nothing of languages).

    ``pybabel extract -k message`` collects the templates into the catalogues.
    """

    template: str
    values: dict[str, object]

    def __new__(cls, template: str, **values: object) -> Message:
        text = super().__new__(cls, template.format(**values) if values else template)
        text.template, text.values = template, values
        return text


def message(template: str, **values: object) -> Message:
    """A translatable message: ``{name}`` placeholders filled from ``values``."""
    return Message(template, **values)


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str
    code: str


class DomainError(Exception):
    """A broken rule. ``detail`` and ``title`` are English :class:`Message` s (marked for the
    catalogues), which the HTTP layer says again in the reader's language; ``code`` never
    changes with the language."""

    code = "domain_error"
    title = message("The request breaks a rule of the registry")

    def __init__(self, detail: str, *, field_errors: list[FieldError] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field_errors = field_errors or []


class InvalidInput(DomainError):
    """Well-formed JSON whose values break a rule (a bad CAS RN, an unknown list, ...)."""

    code = "validation_failed"
    title = message("Some fields are invalid")

    def __init__(self, field: str, message: str, code: str | None = None) -> None:
        code = code or self.code
        super().__init__(message, field_errors=[FieldError(field, message, code)])
        self.code = code


class Unprocessable(DomainError):
    """A well-formed request the registry cannot act on as a whole (each reason listed)."""

    code = "unprocessable"
    title = message("The request cannot be carried out")


class Malformed(DomainError):
    """A request whose content is not what the operation takes (not a valid document of its
    kind), refused whole before anything is done."""

    code = "malformed"
    title = message("The request content is not valid")


class LimitExceeded(DomainError):
    """A request larger than the registry takes at once (too many items to capture)."""

    code = "limit_exceeded"
    title = message("The request is larger than the registry takes at once")


class NotFound(DomainError):
    code = "not_found"
    title = message("No such object")


class Conflict(DomainError):
    code = "conflict"
    title = message("The request conflicts with what is recorded")

    def __init__(self, detail: str, code: str = "conflict") -> None:
        super().__init__(detail)
        self.code = code


class Unauthenticated(DomainError):
    code = "unauthenticated"
    title = message("A valid credential is required")


class Forbidden(DomainError):
    code = "forbidden"
    title = message("This credential may not do that")
