"""The registry's tables, as SQLAlchemy 2.0 typed models.

Every schema change goes through an Alembic migration in ``migrations/``; a test checks
that these models and the migrations agree.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, CheckConstraint, Date, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from registry.db import UTCDateTime, db, new_id, utcnow

ROLES = ("admin", "regulator", "inspector", "enterprise")


class Organization(db.Model):
    __tablename__ = "organizations"

    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200))
    enterprise_code: Mapped[str] = mapped_column(String(13), unique=True)
    address: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    facilities: Mapped[list[Facility]] = relationship(
        back_populates="organization", order_by="Facility.id"
    )
    licences: Mapped[list[Licence]] = relationship(
        back_populates="organization", order_by="Licence.id"
    )


class Facility(db.Model):
    __tablename__ = "facilities"

    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_id)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(500))
    gln: Mapped[str | None] = mapped_column(String(13))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    organization: Mapped[Organization] = relationship(back_populates="facilities")


class Licence(db.Model):
    __tablename__ = "licences"
    __table_args__ = (CheckConstraint("valid_until >= valid_from", name="validity_order"),)

    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_id)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    kind: Mapped[str] = mapped_column(String(64))
    number: Mapped[str] = mapped_column(String(100))
    valid_from: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date] = mapped_column(Date)
    # Control-list codes and CAS RNs, each checked when the licence is granted.
    covers: Mapped[list[str]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    organization: Mapped[Organization] = relationship(back_populates="licences")


class ControlList(db.Model):
    __tablename__ = "control_lists"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    jurisdiction: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200))


class Substance(db.Model):
    __tablename__ = "substances"

    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_id)
    # Some official lists name substances that have no CAS RN (groups of esters, products).
    cas_rn: Mapped[str | None] = mapped_column(String(12), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    synonyms: Mapped[list[str]] = mapped_column(JSON, default=list)
    un_number: Mapped[str | None] = mapped_column(String(4))
    ghs_pictograms: Mapped[list[str]] = mapped_column(JSON, default=list)
    hazard_statements: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    memberships: Mapped[list[SubstanceControlList]] = relationship(
        back_populates="substance",
        order_by="SubstanceControlList.control_list_code",
        cascade="all, delete-orphan",
    )


class SubstanceControlList(db.Model):
    __tablename__ = "substance_control_lists"

    substance_id: Mapped[str] = mapped_column(ForeignKey("substances.id"), primary_key=True)
    control_list_code: Mapped[str] = mapped_column(
        ForeignKey("control_lists.code"), primary_key=True, index=True
    )
    notes: Mapped[str | None] = mapped_column(Text)

    substance: Mapped[Substance] = relationship(back_populates="memberships")
    control_list: Mapped[ControlList] = relationship(lazy="joined")


class ApiKey(db.Model):
    __tablename__ = "api_keys"
    __table_args__ = (
        CheckConstraint(
            "role IN ('admin', 'regulator', 'inspector', 'enterprise')", name="known_role"
        ),
        CheckConstraint(
            "(role = 'enterprise') = (organization_id IS NOT NULL)", name="enterprise_has_org"
        ),
    )

    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_id)
    # SHA-256 of the whole key: keys are 256-bit random, so a slow hash adds nothing.
    key_hash: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))
    organization_id: Mapped[str | None] = mapped_column(ForeignKey("organizations.id"))
    name: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    organization: Mapped[Organization | None] = relationship()
