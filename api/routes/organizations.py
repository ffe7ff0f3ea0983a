"""Routes for organisations, their facilities and their licences."""

from __future__ import annotations

from flask import Blueprint

from api.auth import ensure_own_organization, requires_roles
from api.bodies import load_json, load_query
from api.schemas.common import page_json
from api.schemas.organizations import (
    FacilityIn,
    LicenceIn,
    OrganizationIn,
    OrganizationQuery,
    facility_json,
    licence_json,
    organization_json,
)
from api.transactions import write_route
from registry.catalogue import organizations
from registry.catalogue.organizations import LicenceTerms
from registry.models import ROLES

bp = Blueprint("organizations", __name__, url_prefix="/api/v1/organizations")


@bp.post("")
@requires_roles("admin")
@write_route
def create_organization():
    body = load_json(OrganizationIn)
    organization = organizations.create_organization(**body)
    return organization_json(organization), 201


@bp.get("")
@requires_roles("admin", "regulator", "inspector")
def list_organizations():
    query = load_query(OrganizationQuery)
    page = organizations.list_organizations(**query)
    return page_json(page, organization_json)


@bp.get("/<organization_id>")
@requires_roles(*ROLES)
def get_organization(organization_id: str):
    ensure_own_organization(organization_id)
    return organization_json(organizations.get_organization(organization_id))


@bp.post("/<organization_id>/facilities")
@requires_roles("admin", "enterprise")
@write_route
def add_facility(organization_id: str):
    ensure_own_organization(organization_id)
    body = load_json(FacilityIn)
    facility = organizations.add_facility(organization_id, **body)
    return facility_json(facility), 201


@bp.post("/<organization_id>/licences")
@requires_roles("admin", "regulator")
@write_route
def grant_licence(organization_id: str):
    body = load_json(LicenceIn)
    licence = organizations.grant_licence(organization_id, LicenceTerms(**body))
    return licence_json(licence), 201
