"""Field helpers shared by every request schema."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any, ClassVar

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from api.errors import CodedMessage


class StrictSchema(Schema):
    """Unknown fields are an error (marshmallow's default, stated here on purpose).

    An unknown field and a missing required one are reported with their own codes
    (``unknown_field``, ``missing_field``); every other message is ``invalid_field``.
    """

    error_messages: ClassVar[dict[str, str]] = {
        "unknown": CodedMessage("Unknown field.", "unknown_field")
    }

    class Meta:
        unknown = "raise"

    def on_bind_field(self, field_name: str, field_obj: fields.Field) -> None:
        required = field_obj.error_messages["required"]
        field_obj.error_messages["required"] = CodedMessage(required, "missing_field")


# Whitespace as `\s` means it in the contract's patterns (ECMA-262, the regex dialect of JSON
# Schema). Python's str.strip() differs: it also strips U+001C..U+001F and U+0085, and keeps
# U+FEFF, so it refused values the contract allows. (The body of a regex character class.)
WHITESPACE = "\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
_BLANK = re.compile(f"[{WHITESPACE}]*")
_SURROUNDED = re.compile(f"[{WHITESPACE}].*|.*[{WHITESPACE}]", re.DOTALL)


def is_blank(value: str) -> bool:
    return _BLANK.fullmatch(value) is not None


def has_surrounding_whitespace(value: str) -> bool:
    return _SURROUNDED.fullmatch(value) is not None


def _not_blank(value: str) -> None:
    if is_blank(value):
        raise ValidationError("Must not be blank.")


def text(max_length: int, *, required: bool = True, allow_none: bool = False) -> fields.String:
    return fields.String(
        required=required,
        allow_none=allow_none,
        validate=[validate.Length(min=1, max=max_length), _not_blank],
    )


# RFC 5646 §4.4.1: every reader of language tags takes at least 35 characters.
MAX_LANGUAGE_TAG_LENGTH = 35


def language() -> fields.String:
    """``?lang=``, which api.i18n reads: a language not shipped falls back (never refused),
    but a value longer than any language tag is refused, as the contract bounds it."""
    return fields.String(load_default=None, validate=validate.Length(max=MAX_LANGUAGE_TAG_LENGTH))


class ReaderQuery(Schema):
    """The query of a page a person opens (a QR code's link, /docs): ``lang``, and nothing
    else read; a parameter added by a scanner app or a link tracker is ignored, not refused."""

    class Meta:
        unknown = EXCLUDE

    lang = language()


class QueryInteger(fields.Integer):
    """An integer from a query string: digits only, so '1e3' or ' 5' are refused."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if not isinstance(value, str) or not value.isdigit() or len(value) > 9:
            raise ValidationError("Not a valid whole number.")
        return int(value)


MAX_MOMENT_LENGTH = 64  # the contract's maxLength for date-time query parameters
# Printable ASCII only (the contract's "^[\\x20-\\x7e]+$"); \Z, not $, which would let a
# trailing newline through.
PRINTABLE_ASCII = validate.Regexp(re.compile(r"[\x20-\x7e]+\Z"), error="Printable ASCII only.")


class Moment(fields.AwareDateTime):
    """An RFC 3339 date-time with its offset, of bounded length (a naive time is refused)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> datetime:
        if isinstance(value, str) and len(value) > MAX_MOMENT_LENGTH:
            raise ValidationError(f"Longer than {MAX_MOMENT_LENGTH} characters.")
        return super()._deserialize(value, attr, data, **kwargs)


def moment(**kwargs: Any) -> fields.AwareDateTime:
    """An RFC 3339 date-time with its offset (a naive time is refused)."""
    return Moment(format="iso", **kwargs)


class PageQuery(StrictSchema):
    limit = QueryInteger(load_default=None)
    cursor = fields.String(load_default=None, validate=validate.Length(min=1, max=200))


def page_json(page: Any, represent: Any) -> dict[str, Any]:
    return {"items": [represent(item) for item in page.items], "next_cursor": page.next_cursor}


def timestamp(value: datetime) -> str:
    return value.isoformat()


def day(value: date) -> str:
    return value.isoformat()
