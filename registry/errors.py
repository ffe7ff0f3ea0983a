"""Exceptions the domain raises when a rule is broken.

Each carries a stable machine ``code``; the HTTP layer decides the status.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str
    code: str


class DomainError(Exception):
    code = "domain_error"
    title = "The request breaks a rule of the registry"

    def __init__(self, detail: str, *, field_errors: list[FieldError] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field_errors = field_errors or []


class InvalidInput(DomainError):
    """Well-formed JSON whose values break a rule (a bad CAS RN, an unknown list, ...)."""

    code = "validation_failed"
    title = "Some fields are invalid"

    def __init__(self, field: str, message: str, code: str | None = None) -> None:
        code = code or self.code
        super().__init__(message, field_errors=[FieldError(field, message, code)])
        self.code = code


class Unprocessable(DomainError):
    """A well-formed request the registry cannot act on as a whole (each reason listed)."""

    code = "unprocessable"
    title = "The request cannot be carried out"


class NotFound(DomainError):
    code = "not_found"
    title = "No such object"


class Conflict(DomainError):
    code = "conflict"
    title = "The request conflicts with what is recorded"

    def __init__(self, detail: str, code: str = "conflict") -> None:
        super().__init__(detail)
        self.code = code


class Unauthenticated(DomainError):
    code = "unauthenticated"
    title = "A valid credential is required"


class Forbidden(DomainError):
    code = "forbidden"
    title = "This credential may not do that"
