"""The EPCIS root (``/api/v1/epcis/``): the top-level resources this repository has, as the
binding's discovery resource lists them. ``OPTIONS`` on it answers with the versions and
extensions (``common``)."""

from __future__ import annotations

from flask import Response, json

from api.auth import requires_roles
from api.routes.epcis.common import bp
from registry.epcis import mapping
from registry.models import ROLES

# All nine of the binding's: queries and capture for those who may, the rest for regulators.
TOP_LEVEL = (
    "queries",
    "capture",
    "events",
    "eventTypes",
    "epcs",
    "readPoints",
    "bizLocations",
    "dispositions",
    "bizSteps",
)


@bp.get("/")
@requires_roles(*ROLES)  # any authenticated caller: the list is the same for all
def top_level() -> Response:
    body = {"@context": mapping.EPCIS_CONTEXT, "type": "Collection", "member": list(TOP_LEVEL)}
    return Response(json.dumps(body), mimetype="application/json")
