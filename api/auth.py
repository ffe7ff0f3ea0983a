"""Who is calling, and whether they may: credentials on the way in, roles on each route."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import ParamSpec, TypeVar

from flask import g, request

from api import limits, oidc
from registry.access import credentials
from registry.access.credentials import Principal
from registry.errors import Forbidden, NotFound, Unauthenticated, message

P = ParamSpec("P")
R = TypeVar("R")


def current_principal() -> Principal:
    principal = g.get("principal")
    if principal is None:
        try:
            principal = _authenticate()
        except Unauthenticated:
            # Counted per credential and per address; over the address's budget, 429.
            limits.authentication_failed()
            raise
        g.principal = principal
    return principal


def _authenticate() -> Principal:
    header = request.headers.get("Authorization")
    if not header:
        raise Unauthenticated(message("This route needs an Authorization: Bearer credential."))
    scheme, _, credential = header.partition(" ")
    if scheme.lower() != "bearer" or not credential.strip():
        raise Unauthenticated(message("Use the Bearer scheme: Authorization: Bearer <credential>."))
    credential = credential.strip()
    if oidc.looks_like_jwt(credential):
        return oidc.authenticate(credential)
    return credentials.authenticate(credential)


def requires_roles(*roles: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Only these roles may call the route; anyone else authenticated gets 403."""

    def decorate(view: Callable[P, R]) -> Callable[P, R]:
        @wraps(view)
        def guarded(*args: P.args, **kwargs: P.kwargs) -> R:
            principal = current_principal()
            if principal.role not in roles:
                raise Forbidden(message("The {role} role may not do this.", role=principal.role))
            return view(*args, **kwargs)

        guarded.allowed_roles = roles  # type: ignore[attr-defined]
        return guarded

    return decorate


def ensure_own_organization(organization_id: str) -> None:
    """An enterprise sees only its own organisation; another's is answered as not found."""
    principal = current_principal()
    if principal.role == "enterprise" and principal.organization_id != organization_id:
        raise NotFound(
            message("No organisation {organization_id}.", organization_id=organization_id)
        )
