"""Routes for the substance catalogue."""

from __future__ import annotations

from flask import Blueprint

from api.audit import audited
from api.auth import requires_roles
from api.bodies import load_json, load_query
from api.schemas.common import page_json
from api.schemas.substances import (
    ClassificationIn,
    NamesIn,
    SubstanceIn,
    SubstanceQuery,
    substance_json,
)
from api.transactions import write_route
from registry.catalogue import substances
from registry.catalogue.substances import Classification, SubstanceFacts
from registry.models import ROLES

bp = Blueprint("substances", __name__, url_prefix="/api/v1/substances")


@bp.get("")
@requires_roles(*ROLES)
def search_substances():
    query = load_query(SubstanceQuery)
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
    body = load_json(SubstanceIn)
    ghs = body.pop("ghs")
    substance = substances.register(
        SubstanceFacts(
            **body,
            ghs_pictograms=ghs["pictograms"],
            signal_word=ghs["signal_word"],
            hazard_statements=ghs["hazard_statements"],
            precautionary_statements=ghs["precautionary_statements"],
            classification_source=ghs["source"],
        )
    )
    return substance_json(substance), 201


@bp.put("/<cas_rn>/names")
@requires_roles("admin", "regulator")
@audited("substance.names", "cas_rn")
@write_route
def set_substance_names(cas_rn: str):
    body = load_json(NamesIn)
    return substance_json(substances.set_names(cas_rn, body["names"]))


@bp.put("/<cas_rn>/classification")
@requires_roles("admin", "regulator")
@audited("substance.classification", "cas_rn")
@write_route
def set_substance_classification(cas_rn: str):
    body = load_json(ClassificationIn)
    return substance_json(substances.set_classification(cas_rn, Classification(**body)))
