"""Organisations, facilities and licences: what the API accepts and answers."""

from __future__ import annotations

from typing import Any

from marshmallow import fields, validate

from api.schemas.common import PageQuery, StrictSchema, day, text, timestamp
from registry.models import Facility, Licence, Organization


class OrganizationIn(StrictSchema):
    name = text(200)
    enterprise_code = fields.String(required=True, validate=validate.Length(max=20))
    address = text(500, required=False, allow_none=True)


class OrganizationQuery(PageQuery):
    enterprise_code = fields.String(load_default=None, validate=validate.Length(max=20))


class FacilityIn(StrictSchema):
    name = text(200)
    address = text(500)
    gln = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=20))


class LicenceIn(StrictSchema):
    kind = text(64)
    number = text(100)
    valid_from = fields.Date(required=True)
    valid_until = fields.Date(required=True)
    covers = fields.List(
        fields.String(validate=validate.Length(min=1, max=64)),
        required=True,
        validate=validate.Length(min=1, max=500),
    )


def facility_json(facility: Facility) -> dict[str, Any]:
    return {
        "id": facility.id,
        "organization_id": facility.organization_id,
        "name": facility.name,
        "address": facility.address,
        "gln": facility.gln,
        "created_at": timestamp(facility.created_at),
    }


def licence_json(licence: Licence) -> dict[str, Any]:
    return {
        "id": licence.id,
        "organization_id": licence.organization_id,
        "kind": licence.kind,
        "number": licence.number,
        "valid_from": day(licence.valid_from),
        "valid_until": day(licence.valid_until),
        "covers": list(licence.covers),
        "created_at": timestamp(licence.created_at),
    }


def organization_json(organization: Organization) -> dict[str, Any]:
    return {
        "id": organization.id,
        "name": organization.name,
        "enterprise_code": organization.enterprise_code,
        "address": organization.address,
        "created_at": timestamp(organization.created_at),
        "facilities": [facility_json(f) for f in organization.facilities],
        "licences": [licence_json(lic) for lic in organization.licences],
    }
