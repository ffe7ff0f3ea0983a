"""Routes for transformations: inputs consumed, one output batch that knows its inputs."""

from __future__ import annotations

from flask import Blueprint

from api.auth import current_principal, requires_roles
from api.bodies import load_json
from api.schemas.batches import TransformationIn, batch_json
from api.transactions import write_route
from registry.custody import transformations
from registry.custody.batches import BatchSpec

bp = Blueprint("transformations", __name__, url_prefix="/api/v1/transformations")


@bp.post("")
@requires_roles("enterprise")
@write_route
def transform():
    body = load_json(TransformationIn)
    output = BatchSpec(**body["output"], origin={"kind": "transformation"})
    product = transformations.transform(body["inputs"], output, current_principal())
    return {"output": batch_json(product)}, 201
