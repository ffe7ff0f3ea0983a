"""Routes for custody transfers between organisations."""

from __future__ import annotations

from flask import Blueprint

from api.audit import audited
from api.auth import current_principal, requires_roles
from api.bodies import load_json
from api.schemas.batches import ReasonIn, ReceiveIn, TransferIn, transfer_json
from api.transactions import write_route
from registry.custody import transfers
from registry.models import Transfer

bp = Blueprint("transfers", __name__, url_prefix="/api/v1/transfers")


def _json(transfer: Transfer) -> dict:
    shipped = transfer.shipped_batch
    return transfer_json(transfer, shipped.unit, shipped.dimension)


@bp.post("")
@requires_roles("enterprise")
@write_route
def ship():
    body = load_json(TransferIn)
    transfer = transfers.ship(
        body["batch_id"],
        body["quantity"],
        body["to_organization_id"],
        body["to_facility_id"],
        body["documents"],
        current_principal(),
    )
    return _json(transfer), 201


@bp.get("/<transfer_id>")
@requires_roles("enterprise", "regulator")
@audited("transfer.read", "transfer_id")
def get_transfer(transfer_id: str):
    return _json(transfers.get_transfer(transfer_id, current_principal()))


@bp.post("/<transfer_id>/receive")
@requires_roles("enterprise")
@write_route
def receive(transfer_id: str):
    body = load_json(ReceiveIn)
    transfer = transfers.receive(
        transfer_id, body["received_quantity"], body["facility_id"], current_principal()
    )
    return {**_json(transfer), "batch_id": transfer.shipped_batch_id}


@bp.post("/<transfer_id>/reject")
@requires_roles("enterprise")
@write_route
def reject(transfer_id: str):
    body = load_json(ReasonIn)
    return _json(transfers.reject(transfer_id, body["reason"], current_principal()))
