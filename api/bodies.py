"""Reading request bodies and query strings strictly: JSON objects only, no unknown fields."""

from __future__ import annotations

import json
from decimal import Decimal
from functools import cache
from typing import Any

from flask import request
from marshmallow import Schema

from api.errors import ApiProblem, validation_failed
from registry.errors import FieldError, message


@cache
def _schema(schema: type[Schema]) -> Schema:
    # One instance per schema class for the process: making one deep-copies its declared
    # fields (a few per cent of a small request's CPU), and loading changes nothing in it
    # (marshmallow 4 keeps no context on the instance), so threads can share it.
    return schema()


def load_json(schema: type[Schema]) -> Any:
    return load(schema, json_object())


def load(schema: type[Schema], data: dict[str, Any]) -> Any:
    """``data`` (a body already read) loaded by ``schema``, or its validation problem."""
    return _schema(schema).load(data)


def json_object(
    media_types: tuple[str, ...] | None = None, *, exact_numbers: bool = False
) -> dict[str, Any]:
    """The body as a JSON object with no NUL character in it, or the problem why not.

    ``media_types`` are the ones accepted; by default ``application/json`` and any ``+json``
    type. With ``exact_numbers``, numbers with a fraction or exponent are Decimals, not floats.
    """
    mimetype = request.mimetype
    if media_types is None:
        accepted = mimetype == "application/json" or mimetype.endswith("+json")
        media_types = ("application/json",)
    else:
        accepted = mimetype in media_types
    if not mimetype or not accepted:
        raise ApiProblem(
            415,
            "unsupported_media_type",
            message("Send the body as {media_types}.", media_types=" or ".join(media_types)),
        )
    raw = request.get_data(cache=True)
    try:
        data = json.loads(raw, parse_float=Decimal if exact_numbers else None)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ApiProblem(
            400, "malformed_json", message("The body is not valid JSON: {error}", error=exc)
        ) from None
    if not isinstance(data, dict):
        raise ApiProblem(400, "body_not_object", message("The body must be a JSON object."))
    # JSON can only spell a NUL as the escape \u0000 (a raw control character in a string is
    # invalid) or, in UTF-16 or UTF-32, with zero bytes: a body with neither holds none, and
    # the walk over every string of a large body is skipped.
    if b"\\u0000" in raw or b"\x00" in raw:
        refuse_nul(data)
    return data


def load_query(schema: type[Schema]) -> Any:
    """Query parameters: each given at most once, unknown ones refused."""
    args = request.args
    repeated = [name for name in args if len(args.getlist(name)) > 1]
    if repeated:
        raise validation_failed(
            [
                FieldError(n, message("Give this parameter once."), "repeated_parameter")
                for n in repeated
            ],
            message("A query parameter was given more than once."),
        )
    values = args.to_dict()
    refuse_nul(values)
    return _schema(schema).load(values)


def refuse_nul(data: Any, path: str = "") -> None:
    """No text may hold a NUL character: PostgreSQL cannot store one, and no field needs it."""
    if isinstance(data, str):
        if "\x00" in data:
            raise validation_failed(
                [
                    FieldError(
                        path or "body",
                        message("NUL characters are not allowed."),
                        "invalid_character",
                    )
                ]
            )
    elif isinstance(data, dict):
        for key, value in data.items():
            refuse_nul(key, path or "body")
            refuse_nul(value, f"{path}.{key}" if path else str(key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            refuse_nul(value, f"{path}.{index}" if path else str(index))
