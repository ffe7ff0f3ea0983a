"""Reports: the event filters they take, and how a mass balance is written (declared units
and pure-substance kilograms)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from marshmallow import fields, validate

from api.schemas.common import StrictSchema, moment
from registry.custody.quantities import Amount, decimal_text
from registry.ledger.queries import EVENT_TYPES
from registry.reports.mass_balance import Line, Report

DISPLAY_UNIT = {"mass": "kg", "volume": "L"}


class EventFilterQuery(StrictSchema):
    """The filters of the events list, its exports: what EventFilter takes."""

    cas_rn = fields.String(load_default=None, validate=validate.Length(max=20))
    organization_id = fields.String(load_default=None, validate=validate.Length(1, 64))
    type = fields.String(load_default=None, validate=validate.OneOf(EVENT_TYPES))
    control_list = fields.String(load_default=None, validate=validate.Length(1, 64))
    since = moment(load_default=None)
    until = moment(load_default=None)


def _kg(grams: Decimal) -> dict[str, str]:
    return {"value": decimal_text(grams / 1000), "unit": "kg"}


def _pure(line: Line) -> dict[str, Any] | None:
    if line.pure is None:
        return None
    grams = line.pure
    inflows = {k: grams.get(k, Decimal(0)) for k in line.inflows}
    outflows = {k: grams.get(k, Decimal(0)) for k in line.outflows}
    opening, actual = grams.get("opening", Decimal(0)), grams.get("actual_closing", Decimal(0))
    expected = opening + sum(inflows.values()) - sum(outflows.values())
    return {
        "opening": _kg(opening),
        "inflows": {k: _kg(v) for k, v in inflows.items()},
        "outflows": {k: _kg(v) for k, v in outflows.items()},
        "expected_closing": _kg(expected),
        "actual_closing": _kg(actual),
        "discrepancy": _kg(actual - expected),
    }


def line_json(line: Line) -> dict[str, Any]:
    unit = DISPLAY_UNIT.get(line.dimension)

    def amount(micro: int) -> dict[str, str]:
        return Amount(line.dimension, micro).as_json(unit)

    return {
        "cas_rn": line.cas_rn,
        "substance_name": line.substance_name,
        "dimension": line.dimension,
        "opening": amount(line.opening),
        "inflows": {k: amount(v) for k, v in line.inflows.items()},
        "outflows": {k: amount(v) for k, v in line.outflows.items()},
        "expected_closing": amount(line.expected_closing),
        "actual_closing": amount(line.actual_closing),
        "discrepancy": amount(line.discrepancy),
        "pure_substance": _pure(line),
        "flags": [
            {
                "code": flag.code,
                "message": flag.message,
                "events": [
                    {
                        "id": e.id,
                        "ledger_index": e.ledger_index,
                        "type": e.type,
                        "batch_id": e.batch_id,
                        "recorded_at": e.recorded_at.isoformat(),
                    }
                    for e in flag.events
                ],
            }
            for flag in line.flags
        ],
    }


def report_json(report: Report) -> dict[str, Any]:
    return {
        "organization_id": report.organization.id,
        "organization_name": report.organization.name,
        "since": report.since.isoformat(),
        "until": report.until.isoformat(),
        "lines": [line_json(line) for line in report.lines],
    }
