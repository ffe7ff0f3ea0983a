"""Reading request bodies and query strings strictly: JSON objects only, no unknown fields."""

from __future__ import annotations

import json
from typing import Any

from flask import request
from marshmallow import Schema

from api.errors import ApiProblem, validation_failed
from registry.errors import FieldError


def load_json(schema: Schema) -> Any:
    if not request.mimetype or not (
        request.mimetype == "application/json" or request.mimetype.endswith("+json")
    ):
        raise ApiProblem(415, "unsupported_media_type", "Send the body as application/json.")
    raw = request.get_data(cache=True)
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ApiProblem(400, "malformed_json", f"The body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ApiProblem(400, "body_not_object", "The body must be a JSON object.")
    refuse_nul(data)
    return schema.load(data)


def load_query(schema: Schema) -> Any:
    """Query parameters: each given at most once, unknown ones refused."""
    args = request.args
    repeated = [name for name in args if len(args.getlist(name)) > 1]
    if repeated:
        raise validation_failed(
            [FieldError(n, "Give this parameter once.", "repeated_parameter") for n in repeated],
            "A query parameter was given more than once.",
        )
    values = args.to_dict()
    refuse_nul(values)
    return schema.load(values)


def refuse_nul(data: Any, path: str = "") -> None:
    """No text may hold a NUL character: PostgreSQL cannot store one, and no field needs it."""
    if isinstance(data, str):
        if "\x00" in data:
            raise validation_failed(
                [FieldError(path or "body", "NUL characters are not allowed.", "invalid_character")]
            )
    elif isinstance(data, dict):
        for key, value in data.items():
            refuse_nul(key, path or "body")
            refuse_nul(value, f"{path}.{key}" if path else str(key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            refuse_nul(value, f"{path}.{index}" if path else str(index))
