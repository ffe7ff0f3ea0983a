"""The ledger's public face: signed checkpoints, inclusion and consistency proofs, entries."""

from __future__ import annotations

import base64
import json

from flask import Blueprint, Response, request
from marshmallow import fields, validate

from api.audit import audited
from api.auth import requires_roles
from api.bodies import load_query
from api.schemas.common import QueryInteger, StrictSchema
from api.transactions import write_route
from registry import unit_of_work
from registry.ledger import tree

bp = Blueprint("ledger", __name__, url_prefix="/api/v1/ledger")

# A proof for fixed sizes never changes, so caches may keep it for good.
IMMUTABLE = "public, max-age=31536000, immutable"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


class CheckpointQuery(StrictSchema):
    format = fields.String(load_default=None, validate=validate.OneOf(["verifier-key"]))


class InclusionQuery(StrictSchema):
    index = QueryInteger(required=True)
    tree_size = QueryInteger(required=True, validate=validate.Range(min=1))


class ConsistencyQuery(StrictSchema):
    first = QueryInteger(required=True)
    second = QueryInteger(required=True)


class EntriesQuery(StrictSchema):
    start = QueryInteger(required=True)
    end = QueryInteger(required=True)


@bp.get("/checkpoint")
def checkpoint():
    query = load_query(CheckpointQuery)
    if query["format"] == "verifier-key":
        keys = "".join(f"{v.text()}\n" for v in tree.verifiers())
        return Response(keys, mimetype="text/plain")
    latest = tree.latest_checkpoint()
    if tree.checkpoint_is_stale(latest):
        # The log outgrew a stale checkpoint: sign a new one first, in a write of its own.
        latest = unit_of_work.write_separately(tree.refresh_checkpoint)
    wants = request.accept_mimetypes.best_match(["text/plain", "application/json"])
    if wants == "application/json":
        response = Response(json.dumps(tree.checkpoint_json(latest)), mimetype="application/json")
    else:
        response = Response(latest.note, mimetype="text/plain")
    response.headers["Vary"] = "Accept"
    response.cache_control.no_cache = True
    return response


@bp.post("/checkpoints")
@requires_roles("admin", "regulator")
@write_route
def sign_checkpoint():
    return tree.checkpoint_json(tree.sign_checkpoint_now()), 201


@bp.get("/proofs/inclusion")
def inclusion_proof():
    query = load_query(InclusionQuery)
    proof = tree.inclusion_proof(query["index"], query["tree_size"])
    body = {
        "leaf_index": proof.leaf_index,
        "tree_size": proof.tree_size,
        "leaf_hash": b64(proof.leaf_hash),
        "proof": [b64(h) for h in proof.proof],
        "root_hash": b64(proof.root_hash),
    }
    return body, 200, {"Cache-Control": IMMUTABLE}


@bp.get("/proofs/consistency")
def consistency_proof():
    query = load_query(ConsistencyQuery)
    proof = tree.consistency_proof(query["first"], query["second"])
    body = {"first": query["first"], "second": query["second"], "proof": [b64(h) for h in proof]}
    return body, 200, {"Cache-Control": IMMUTABLE}


@bp.get("/entries")
@requires_roles("regulator")
@audited("ledger.entries")
def entries():
    query = load_query(EntriesQuery)
    found = tree.entries(query["start"], query["end"])
    return {
        "entries": [{"index": e.index, "leaf": b64(e.leaf), "event_id": e.event_id} for e in found]
    }
