"""Keyset pagination: pages are cut by the last id seen, never by OFFSET.

The cursor is opaque to clients: base64url of the last id of the previous page.
"""

from __future__ import annotations

import binascii
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select

from crypto.keys import b64url, b64url_decode
from registry.db import db
from registry.errors import InvalidInput, message

DEFAULT_LIMIT = 50
MAX_LIMIT = 500

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None


def encode_cursor(last_id: str) -> str:
    return b64url(last_id.encode())


def decode_cursor(cursor: str) -> str:
    try:
        value = b64url_decode(cursor).decode("ascii")
    except (binascii.Error, UnicodeError, ValueError):
        raise InvalidInput(
            "cursor", message("The cursor is not one this service issued."), "invalid_cursor"
        ) from None
    if not value or not value.isalnum():
        raise InvalidInput(
            "cursor", message("The cursor is not one this service issued."), "invalid_cursor"
        )
    return value


def check_limit(limit: int | None) -> int:
    if limit is None:
        return DEFAULT_LIMIT
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(
            "limit",
            message("limit must be between 1 and {max_limit}.", max_limit=MAX_LIMIT),
            "invalid_limit",
        )
    return limit


def _whole_number(value: str) -> int:
    if not value.isdigit() or len(value) > 18:
        raise InvalidInput(
            "cursor", message("The cursor is not one this service issued."), "invalid_cursor"
        )
    return int(value)


def paginate(
    query: Select[Any],
    id_column: Any,
    limit: int | None,
    cursor: str | None,
    *,
    numeric: bool = False,
) -> Page:
    """One page of ``query`` ordered by ``id_column`` (a string id, or a ``numeric`` one such
    as a ledger index), starting after ``cursor``."""
    limit = check_limit(limit)
    if cursor:
        last = decode_cursor(cursor)
        query = query.where(id_column > (_whole_number(last) if numeric else last))
    rows = list(db.session.scalars(query.order_by(id_column).limit(limit + 1)).unique())
    has_more = len(rows) > limit
    rows = rows[:limit]
    last_key = str(getattr(rows[-1], id_column.key)) if rows else ""
    return Page(rows, encode_cursor(last_key) if has_more else None)
