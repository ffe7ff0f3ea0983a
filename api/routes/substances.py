"""Routes for the substance catalogue."""

from __future__ import annotations

from flask import Blueprint

from api.auth import requires_roles
from api.bodies import load_json, load_query
from api.schemas.common import page_json
from api.schemas.substances import SubstanceIn, SubstanceQuery, substance_json
from api.transactions import write_route
from registry.catalogue import substances
from registry.catalogue.substances import SubstanceFacts
from registry.models import ROLES

bp = Blueprint("substances", __name__, url_prefix="/api/v1/substances")


@bp.get("")
@requires_roles(*ROLES)
def search_substances():
    query = load_query(SubstanceQuery())
    page = substances.search(
        cas_rn=query["cas_rn"],
        name_fragment=query["q"],
        control_list=query["control_list"],
        limit=query["limit"],
        cursor=query["cursor"],
    )
    return page_json(page, substance_json)


@bp.get("/<cas_rn>")
@requires_roles(*ROLES)
def get_substance(cas_rn: str):
    return substance_json(substances.get_by_cas_rn(cas_rn))


@bp.post("")
@requires_roles("admin", "regulator")
@write_route
def register_substance():
    body = load_json(SubstanceIn())
    ghs = body.pop("ghs")
    substance = substances.register(
        SubstanceFacts(
            **body, ghs_pictograms=ghs["pictograms"], hazard_statements=ghs["hazard_statements"]
        )
    )
    return substance_json(substance), 201
