"""Batches, transfers and transformations: what the API accepts and answers.

Shapes are checked here; exact quantities, identifiers and rules are checked by the
domain, which names the offending field.
"""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError, fields, validate

from api.schemas.common import (
    PageQuery,
    StrictSchema,
    day,
    has_surrounding_whitespace,
    language,
    text,
    timestamp,
)
from registry.custody.batches import pure_grams_of
from registry.custody.operations import INCIDENT_KINDS
from registry.custody.quantities import Amount, decimal_text
from registry.models import BATCH_STATUSES, Batch, Transfer
from registry.signing import signer

DOCUMENT_TYPES = (
    "invoice",
    "delivery_note",
    "control_slip",
    "customs_declaration",
    "import_licence",
    "export_licence",
    "other",
)


class QuantityIn(StrictSchema):
    value = fields.String(required=True, validate=validate.Length(min=1, max=40))
    unit = fields.String(required=True, validate=validate.Length(min=1, max=8))


def quantity(**kwargs: Any) -> fields.Nested:
    return fields.Nested(QuantityIn, required=True, **kwargs)


class DocumentIn(StrictSchema):
    type = fields.String(required=True, validate=validate.OneOf(DOCUMENT_TYPES))
    number = text(100)


def documents() -> fields.List:
    return fields.List(
        fields.Nested(DocumentIn), load_default=list, validate=validate.Length(max=20)
    )


class ContainersField(fields.Field):
    """A number of containers (serials made for you) or the list of their serials."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if isinstance(value, bool):
            raise ValidationError("A whole number or a list of serials.")
        if isinstance(value, int):
            return value
        # JSON has one number type: 3.0 is the integer 3, as the contract's `integer` says.
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, list) and all(
            isinstance(s, str) and 0 < len(s) <= 64 and not has_surrounding_whitespace(s)
            for s in value
        ):
            return value
        raise ValidationError("A whole number or a list of serials (1 to 64 characters).")


class OriginIn(StrictSchema):
    kind = fields.String(required=True, validate=validate.OneOf(("produced", "imported")))
    document = fields.String(load_default=None, allow_none=True, validate=validate.Length(1, 100))


class NewBatchIn(StrictSchema):
    """What every new batch is given: a registration's, and a transformation's output."""

    cas_rn = fields.String(required=True, validate=validate.Length(max=20))
    lot_number = text(100)
    quantity = quantity()
    concentration_pct = fields.String(load_default=None, validate=validate.Length(1, 20))
    density_kg_per_l = fields.String(load_default=None, validate=validate.Length(1, 20))
    facility_id = fields.String(required=True, validate=validate.Length(1, 64))


class BatchIn(NewBatchIn):
    origin = fields.Nested(OriginIn, required=True)
    manufactured_on = fields.Date(load_default=None)
    expires_on = fields.Date(load_default=None)
    containers = ContainersField(load_default=None)
    documents = documents()


class BulkIn(StrictSchema):
    items = fields.List(fields.Nested(BatchIn), required=True, validate=validate.Length(1, 1000))


class BatchQuery(PageQuery):
    cas_rn = fields.String(load_default=None, validate=validate.Length(max=20))
    status = fields.String(load_default=None, validate=validate.OneOf(BATCH_STATUSES))
    holder = fields.String(load_default=None, validate=validate.Length(1, 64))


class SplitIn(StrictSchema):
    parts = fields.List(fields.Nested(QuantityIn), required=True, validate=validate.Length(1, 100))


class ConsumeIn(StrictSchema):
    quantity = quantity()
    purpose = text(500)


class DisposeIn(StrictSchema):
    quantity = quantity()
    method = text(500)


class ExportIn(StrictSchema):
    quantity = quantity()
    destination_country = fields.String(
        required=True, validate=validate.Regexp(r"^[A-Z]{2}\Z", error="ISO 3166-1 alpha-2 code.")
    )
    licence_number = text(100)


class IncidentIn(StrictSchema):
    kind = fields.String(required=True, validate=validate.OneOf(INCIDENT_KINDS))
    quantity = quantity()
    description = text(2000)


class ReasonIn(StrictSchema):
    reason = text(2000)


class InspectionIn(StrictSchema):
    result = fields.String(required=True, validate=validate.OneOf(("pass", "fail", "discrepancy")))
    notes = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=2000))
    observed_quantity = fields.Nested(QuantityIn, load_default=None, allow_none=True)


class AdjustmentIn(StrictSchema):
    quantity = quantity()
    reason = text(2000)


class TransformationInput(StrictSchema):
    batch_id = fields.String(required=True, validate=validate.Length(1, 64))
    quantity = quantity()


class TransformationOutput(NewBatchIn):
    """The one batch a transformation makes: its origin is the transformation."""


class TransformationIn(StrictSchema):
    inputs = fields.List(
        fields.Nested(TransformationInput), required=True, validate=validate.Length(1, 100)
    )
    output = fields.Nested(TransformationOutput, required=True)


class TransferIn(StrictSchema):
    batch_id = fields.String(required=True, validate=validate.Length(1, 64))
    quantity = quantity()
    to_organization_id = fields.String(required=True, validate=validate.Length(1, 64))
    to_facility_id = fields.String(
        load_default=None, allow_none=True, validate=validate.Length(1, 64)
    )
    documents = documents()


class ReceiveIn(StrictSchema):
    received_quantity = quantity()
    facility_id = fields.String(load_default=None, allow_none=True, validate=validate.Length(1, 64))


class HistoryQuery(StrictSchema):
    direction = fields.String(
        load_default="both", validate=validate.OneOf(("upstream", "downstream", "both"))
    )


class HistorySvgQuery(HistoryQuery):
    lang = language()


# --- representations ---------------------------------------------------------------


def amount_json(dimension: str, micro: int, unit: str) -> dict[str, str]:
    return Amount(dimension, micro).as_json(unit)


def pure_substance_mass(batch: Batch) -> dict[str, str] | None:
    """Pure-substance mass in grams, or null for a volume with no density."""
    grams = pure_grams_of(batch)
    return None if grams is None else {"value": decimal_text(grams), "unit": "g"}


def _identifier(token: str | None) -> dict[str, str] | None:
    return {"token": token, "url": signer().url(token)} if token else None


def batch_json(batch: Batch, ledger_index: int | None = None) -> dict[str, Any]:
    tokens = {i.container_serial: i.token for i in batch.identifiers}
    body: dict[str, Any] = {
        "id": batch.id,
        "cas_rn": batch.cas_rn,
        "substance_name": batch.substance.name,
        "lot_number": batch.lot_number,
        "status": batch.status,
        "quantity": amount_json(batch.dimension, batch.quantity_micro, batch.unit),
        "initial_quantity": amount_json(batch.dimension, batch.initial_quantity_micro, batch.unit),
        "concentration_pct": batch.concentration_pct,
        "density_kg_per_l": batch.density_kg_per_l,
        "pure_substance_mass": pure_substance_mass(batch),
        "holder_organization_id": batch.holder_organization_id,
        "producer_organization_id": batch.producer_organization_id,
        "facility_id": batch.facility_id,
        "origin": {"kind": batch.origin_kind, "document": batch.origin_document},
        "manufactured_on": day(batch.manufactured_on) if batch.manufactured_on else None,
        "expires_on": day(batch.expires_on) if batch.expires_on else None,
        "created_at": timestamp(batch.created_at),
        "identifier": _identifier(tokens.get(None)),
        "containers": [
            {"serial": c.serial, **(_identifier(tokens.get(c.serial)) or {})}
            for c in batch.containers
        ],
    }
    if ledger_index is not None:
        body["ledger_index"] = ledger_index
    return body


def transfer_json(transfer: Transfer, unit: str, dimension: str) -> dict[str, Any]:
    received = transfer.received_quantity_micro
    return {
        "id": transfer.id,
        "status": transfer.status,
        "source_batch_id": transfer.source_batch_id,
        "shipped_batch_id": transfer.shipped_batch_id,
        "from_organization_id": transfer.from_organization_id,
        "to_organization_id": transfer.to_organization_id,
        "to_facility_id": transfer.to_facility_id,
        "quantity": amount_json(dimension, transfer.quantity_micro, unit),
        "received_quantity": amount_json(dimension, received, unit)
        if received is not None
        else None,
        "documents": list(transfer.documents),
        "shipped_at": timestamp(transfer.shipped_at),
        "closed_at": timestamp(transfer.closed_at) if transfer.closed_at else None,
        "reject_reason": transfer.reject_reason,
    }
