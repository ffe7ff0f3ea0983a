"""API keys: what the API accepts and answers. The secret is shown once, at creation."""

from __future__ import annotations

from typing import Any

from marshmallow import fields, validate

from api.schemas.common import StrictSchema, text, timestamp
from registry.models import ROLES, ApiKey


class ApiKeyIn(StrictSchema):
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    organization_id = fields.String(
        load_default=None, allow_none=True, validate=validate.Length(min=1, max=64)
    )
    name = text(200, required=False, allow_none=True)


def api_key_json(api_key: ApiKey) -> dict[str, Any]:
    return {
        "id": api_key.id,
        "role": api_key.role,
        "organization_id": api_key.organization_id,
        "name": api_key.name,
        "created_at": timestamp(api_key.created_at),
        "revoked_at": timestamp(api_key.revoked_at) if api_key.revoked_at else None,
    }
