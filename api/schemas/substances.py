"""Substances and control lists: what the API accepts and answers."""

from __future__ import annotations

from typing import Any

from flask_babel import get_locale
from marshmallow import fields, validate

from api.schemas.common import PageQuery, StrictSchema, text
from registry.catalogue import ghs
from registry.models import ControlList, Substance

_short = validate.Length(min=1, max=64)


class GhsIn(StrictSchema):
    """A classification given at registration: the codes, checked by the domain."""

    pictograms = fields.List(
        fields.String(validate=_short), load_default=list, validate=validate.Length(max=9)
    )
    signal_word = fields.String(load_default=None, allow_none=True, validate=_short)
    hazard_statements = fields.List(
        fields.String(validate=_short), load_default=list, validate=validate.Length(max=100)
    )
    precautionary_statements = fields.List(
        fields.String(validate=_short), load_default=list, validate=validate.Length(max=100)
    )
    source = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=300))


class ClassificationIn(GhsIn):
    """A classification set or corrected through the API: its source is required."""

    signal_word = fields.String(required=True, allow_none=True, validate=_short)
    source = text(300)


class NamesIn(StrictSchema):
    names = fields.Dict(
        keys=fields.String(validate=_short),
        values=text(300),
        required=True,
        validate=validate.Length(max=20),
    )


class SubstanceIn(StrictSchema):
    cas_rn = fields.String(required=True, allow_none=True, validate=validate.Length(max=20))
    name = text(300)
    synonyms = fields.List(text(300), load_default=list, validate=validate.Length(max=50))
    un_number = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=8))
    names = fields.Dict(
        keys=fields.String(validate=_short),
        values=text(300),
        load_default=dict,
        validate=validate.Length(max=20),
    )
    ghs = fields.Nested(GhsIn, load_default=lambda: GhsIn().load({}))
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
        "names": {"en": substance.name, **(substance.names or {})},
        "ghs": ghs_json(substance),
        "control_lists": [
            {**control_list_json(m.control_list), "notes": m.notes} for m in substance.memberships
        ],
    }


def ghs_json(substance: Substance) -> dict[str, Any]:
    """The classification's codes, and their texts in the answer's language."""
    locale = str(get_locale() or ghs.SOURCE_LANGUAGE)
    pictograms = list(substance.ghs_pictograms)
    hazards = list(substance.hazard_statements)
    precautions = list(substance.precautionary_statements or [])
    signal_word = substance.signal_word
    return {
        "pictograms": pictograms,
        "signal_word": signal_word,
        "hazard_statements": hazards,
        "precautionary_statements": precautions,
        "source": substance.classification_source,
        "texts": {
            "pictograms": {p: ghs.pictogram_name(p, locale) for p in pictograms},
            "signal_word": ghs.signal_word_text(signal_word, locale) if signal_word else None,
            "hazard_statements": {h: ghs.hazard_text(h, locale) for h in hazards},
            "precautionary_statements": {p: ghs.precaution_text(p, locale) for p in precautions},
        },
    }
