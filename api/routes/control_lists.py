"""Routes for the control lists substances and licences refer to."""

from __future__ import annotations

from flask import Blueprint

from api.auth import requires_roles
from api.bodies import load_json
from api.schemas.substances import ControlListIn, control_list_json
from api.transactions import write_route
from registry.catalogue import control_lists
from registry.models import ROLES

bp = Blueprint("control_lists", __name__, url_prefix="/api/v1/control-lists")


@bp.get("")
@requires_roles(*ROLES)
def list_control_lists():
    return {"items": [control_list_json(c) for c in control_lists.all_lists()]}


@bp.post("")
@requires_roles("admin", "regulator")
@write_route
def create_control_list():
    body = load_json(ControlListIn)
    control_list = control_lists.create(**body)
    return control_list_json(control_list), 201
