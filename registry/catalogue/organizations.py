"""Organisations, their facilities and their licences."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from stdnum import ean

from registry.catalogue import control_lists
from registry.catalogue.codes import CAS_RN_PATTERN, parse_cas_rn, parse_enterprise_code
from registry.db import db
from registry.errors import Conflict, InvalidInput, NotFound, message
from registry.models import Facility, Licence, Organization
from registry.pagination import Page, paginate


def create_organization(
    name: str, enterprise_code: str, address: str | None = None
) -> Organization:
    code = parse_enterprise_code(enterprise_code)
    if db.session.scalar(select(Organization.id).where(Organization.enterprise_code == code)):
        raise Conflict(
            message(
                "An organisation with enterprise code {code} is already registered.", code=code
            ),
            "organization_exists",
        )
    organization = Organization(name=name, enterprise_code=code, address=address)
    db.session.add(organization)
    db.session.flush()
    return organization


def get_organization(organization_id: str) -> Organization:
    organization = db.session.get(Organization, organization_id)
    if organization is None:
        raise NotFound(
            message("No organisation {organization_id}.", organization_id=organization_id)
        )
    return organization


def organization_by_code(enterprise_code: str) -> Organization | None:
    """The organisation with this enterprise code (as written, or with a branch dash)."""
    code = enterprise_code.replace("-", "")
    return db.session.scalar(select(Organization).where(Organization.enterprise_code == code))


def list_organizations(
    enterprise_code: str | None, limit: int | None, cursor: str | None
) -> Page[Organization]:
    query = select(Organization)
    if enterprise_code is not None:
        query = query.where(Organization.enterprise_code == parse_enterprise_code(enterprise_code))
    return paginate(query, Organization.id, limit, cursor)


def add_facility(organization_id: str, name: str, address: str, gln: str | None = None) -> Facility:
    organization = get_organization(organization_id)
    # A GLN is a 13-digit GS1 key with the EAN-13 check digit.
    if gln is not None and not (len(gln) == 13 and gln.isdigit() and ean.is_valid(gln)):
        raise InvalidInput(
            "gln", message("A GLN is 13 digits with a valid GS1 check digit."), "gln_invalid"
        )
    facility = Facility(organization=organization, name=name, address=address, gln=gln)
    db.session.add(facility)
    db.session.flush()
    return facility


@dataclass(frozen=True)
class LicenceTerms:
    kind: str
    number: str
    valid_from: date
    valid_until: date
    covers: list[str]


def grant_licence(organization_id: str, terms: LicenceTerms) -> Licence:
    """Record a licence; what it covers must be known control lists or valid CAS RNs."""
    organization = get_organization(organization_id)
    if terms.valid_until < terms.valid_from:
        raise InvalidInput(
            "valid_until", message("A licence cannot end before it starts."), "validity_invalid"
        )
    if not terms.covers:
        raise InvalidInput(
            "covers", message("A licence must cover at least one list or substance.")
        )
    covers: list[str] = []
    for position, item in enumerate(terms.covers):
        field = f"covers.{position}"
        if CAS_RN_PATTERN.fullmatch(item) or item[:1].isdigit():
            covers.append(parse_cas_rn(item, field))
        else:
            covers.append(control_lists.get(item, field).code)
    licence = Licence(
        organization=organization,
        kind=terms.kind,
        number=terms.number,
        valid_from=terms.valid_from,
        valid_until=terms.valid_until,
        covers=sorted(set(covers), key=covers.index),
    )
    db.session.add(licence)
    db.session.flush()
    return licence
