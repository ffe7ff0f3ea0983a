"""API keys: issued once, stored only as a hash, compared in constant time, revocable."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import bindparam, select

from registry.catalogue.organizations import get_organization
from registry.db import db, new_id, utcnow
from registry.errors import Conflict, InvalidInput, NotFound, Unauthenticated, message
from registry.models import ROLES, ApiKey
from registry.pagination import Page, paginate

KEY_PREFIX = "ctk"


@dataclass(frozen=True)
class Principal:
    """Who is calling: the credential, its role and, for an enterprise, its organisation."""

    credential_id: str
    role: str
    organization_id: str | None = None
    # A person's identity number from an identity platform's token, as a keyed hash only.
    person_hash: str | None = None


@dataclass(frozen=True)
class IssuedKey:
    api_key: ApiKey
    secret: str  # the whole key, shown to its owner once and never stored


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def issue_api_key(
    role: str, organization_id: str | None = None, name: str | None = None
) -> IssuedKey:
    if role not in ROLES:
        raise InvalidInput(
            "role", message("role must be one of {roles}.", roles=", ".join(ROLES)), "role_invalid"
        )
    if role == "enterprise":
        if organization_id is None:
            raise InvalidInput(
                "organization_id",
                message("An enterprise key belongs to one organisation."),
                "org_required",
            )
        get_organization(organization_id)
    elif organization_id is not None:
        raise InvalidInput(
            "organization_id",
            message("Only enterprise keys belong to an organisation."),
            "org_not_allowed",
        )
    key_id = new_id().lower()
    secret = f"{KEY_PREFIX}_{key_id}_{secrets.token_urlsafe(32)}"
    api_key = ApiKey(
        id=key_id.upper(),
        key_hash=_hash(secret),
        role=role,
        organization_id=organization_id,
        name=name,
    )
    db.session.add(api_key)
    db.session.flush()
    return IssuedKey(api_key, secret)


_keys = ApiKey.__table__
_PRESENTED = select(
    _keys.c.id, _keys.c.key_hash, _keys.c.role, _keys.c.organization_id, _keys.c.revoked_at
).where(_keys.c.id == bindparam("id"))


def authenticate(presented: str) -> Principal:
    """The principal behind a presented key, or ``Unauthenticated``."""
    parts = presented.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX or len(parts[1]) != 26:
        raise Unauthenticated(message("The API key is malformed."))
    # Core, on the request's Session (one connection for the whole request): only the
    # columns checked, no ORM object loaded into the identity map for them.
    api_key = db.session.execute(_PRESENTED, {"id": parts[1].upper()}).first()
    # Hash even when the id is unknown, so timing does not tell which ids exist.
    presented_hash = _hash(presented)
    stored_hash = api_key.key_hash if api_key is not None else "0" * 64
    if not hmac.compare_digest(presented_hash, stored_hash) or api_key is None:
        raise Unauthenticated(message("The API key is not valid."))
    if api_key.revoked_at is not None:
        raise Unauthenticated(message("The API key has been revoked."))
    return Principal(api_key.id, api_key.role, api_key.organization_id)


def revoke_api_key(key_id: str, *, allow_last_admin: bool = False) -> ApiKey:
    """Revoke a key (revoking it twice is harmless).

    The last active admin key is refused (``last_admin_key``): without it nobody could manage
    keys, organisations or substances over HTTP. Only the command line, run by whoever holds
    the server, passes ``allow_last_admin``: it is the recovery path, and it can always issue
    a new admin key (``chemtrace apikey create --role admin``).
    """
    api_key = db.session.get(ApiKey, key_id)
    if api_key is None:
        raise NotFound(message("No API key {key_id}.", key_id=key_id))
    if api_key.revoked_at is None:
        if api_key.role == "admin" and not allow_last_admin:
            _refuse_revoking_the_last_admin_key(api_key)
        api_key.revoked_at = utcnow()
    db.session.flush()
    return api_key


def active_admin_key_ids(*, lock: bool = False) -> set[str]:
    statement = db.select(ApiKey.id).where(ApiKey.role == "admin", ApiKey.revoked_at.is_(None))
    if lock:
        statement = statement.with_for_update()
    return set(db.session.scalars(statement))


def _refuse_revoking_the_last_admin_key(api_key: ApiKey) -> None:
    # The active admin keys locked (PostgreSQL), so two admins revoking each other's keys at
    # once are serialised and the second sees the first's revocation; SQLite has one writer.
    if active_admin_key_ids(lock=True) <= {api_key.id}:
        raise Conflict(
            message(
                "API key {key_id} is the last active admin key; revoking it would leave no "
                "admin able to use the API. Issue another admin key first.",
                key_id=api_key.id,
            ),
            code="last_admin_key",
        )


def list_api_keys(limit: int | None, cursor: str | None) -> Page[ApiKey]:
    return paginate(db.select(ApiKey), ApiKey.id, limit, cursor)
