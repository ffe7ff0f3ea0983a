"""Substances and control lists: what the API accepts and answers."""

from __future__ import annotations

from typing import Any

from marshmallow import fields, validate

from api.schemas.common import PageQuery, StrictSchema, text
from registry.models import ControlList, Substance

_short = validate.Length(min=1, max=64)


class GhsIn(StrictSchema):
    pictograms = fields.List(
        fields.String(validate=_short), load_default=list, validate=validate.Length(max=9)
    )
    hazard_statements = fields.List(
        fields.String(validate=_short), load_default=list, validate=validate.Length(max=100)
    )


class SubstanceIn(StrictSchema):
    cas_rn = fields.String(required=True, allow_none=True, validate=validate.Length(max=20))
    name = text(300)
    synonyms = fields.List(text(300), load_default=list, validate=validate.Length(max=50))
    un_number = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=8))
    ghs = fields.Nested(GhsIn, load_default=lambda: {"pictograms": [], "hazard_statements": []})
    control_lists = fields.List(
        fields.String(validate=_short), load_default=list, validate=validate.Length(max=50)
    )


class SubstanceQuery(PageQuery):
    cas_rn = fields.String(load_default=None, validate=validate.Length(max=20))
    q = fields.String(load_default=None, validate=validate.Length(min=1, max=100))
    control_list = fields.String(load_default=None, validate=_short)


class ControlListIn(StrictSchema):
    code = fields.String(
        required=True,
        validate=validate.Regexp(
            r"^[A-Za-z][A-Za-z0-9._-]{1,63}\Z",
            error="Letters, digits, '.', '_' or '-', starting with a letter.",
        ),
    )
    jurisdiction = fields.String(
        required=True,
        validate=validate.Regexp(r"^[A-Z]{2,16}\Z", error="Upper-case letters, e.g. VN, EU, UN."),
    )
    name = text(200)


def control_list_json(control_list: ControlList) -> dict[str, Any]:
    return {
        "code": control_list.code,
        "jurisdiction": control_list.jurisdiction,
        "name": control_list.name,
    }


def substance_json(substance: Substance) -> dict[str, Any]:
    return {
        "id": substance.id,
        "cas_rn": substance.cas_rn,
        "name": substance.name,
        "synonyms": list(substance.synonyms),
        "un_number": substance.un_number,
        "ghs": {
            "pictograms": list(substance.ghs_pictograms),
            "hazard_statements": list(substance.hazard_statements),
        },
        "control_lists": [
            {**control_list_json(m.control_list), "notes": m.notes} for m in substance.memberships
        ],
    }
