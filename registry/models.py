"""The registry's tables, as SQLAlchemy 2.0 typed models.

Every schema change goes through an Alembic migration in ``migrations/``; a test checks
that these models and the migrations agree.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
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
    # The name in other languages, by locale ("vi": ...); ``name`` is the English one.
    names: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    # The GHS classification: pictograms (GHS01..GHS09), signal word ("danger" or "warning"),
    # hazard (H) and precautionary (P) statement codes, and where the classification is from.
    ghs_pictograms: Mapped[list[str]] = mapped_column(JSON, default=list)
    signal_word: Mapped[str | None] = mapped_column(String(7))
    hazard_statements: Mapped[list[str]] = mapped_column(JSON, default=list)
    precautionary_statements: Mapped[list[str]] = mapped_column(JSON, default=list)
    classification_source: Mapped[str | None] = mapped_column(String(300))
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


# --- Batches and their history -------------------------------------------------------

BATCH_STATUSES = (
    "active",
    "in_transit",
    "depleted",
    "consumed",
    "disposed",
    "exported",
    "lost",
    "stolen",
    "spilled",
    "recalled",
    "suspended",
    "rejected",
)


class Batch(db.Model):
    __tablename__ = "batches"
    __table_args__ = (
        CheckConstraint("quantity_micro >= 0", name="quantity_not_negative"),
        CheckConstraint("dimension IN ('mass', 'volume')", name="known_dimension"),
        Index("ix_batches_holder_status", "holder_organization_id", "status"),
    )

    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_id)
    substance_id: Mapped[str] = mapped_column(ForeignKey("substances.id"), index=True)
    cas_rn: Mapped[str | None] = mapped_column(String(12), index=True)
    lot_number: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(16), index=True)
    # While suspended, the status to go back to on release.
    status_before_suspension: Mapped[str | None] = mapped_column(String(16))
    dimension: Mapped[str] = mapped_column(String(6))
    unit: Mapped[str] = mapped_column(String(4))
    quantity_micro: Mapped[int] = mapped_column(BigInteger)
    initial_quantity_micro: Mapped[int] = mapped_column(BigInteger)
    concentration_pct: Mapped[str] = mapped_column(String(16))
    density_kg_per_l: Mapped[str | None] = mapped_column(String(16))
    holder_organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    producer_organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    facility_id: Mapped[str | None] = mapped_column(ForeignKey("facilities.id"))
    origin_kind: Mapped[str] = mapped_column(String(16))
    origin_document: Mapped[str | None] = mapped_column(String(100))
    manufactured_on: Mapped[date | None] = mapped_column(Date)
    expires_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    substance: Mapped[Substance] = relationship(lazy="joined")
    holder: Mapped[Organization] = relationship(foreign_keys=[holder_organization_id])
    containers: Mapped[list[Container]] = relationship(
        back_populates="batch", order_by="Container.serial"
    )
    identifiers: Mapped[list[Identifier]] = relationship(order_by="Identifier.issued_at")


class Container(db.Model):
    __tablename__ = "containers"
    __table_args__ = (UniqueConstraint("batch_id", "serial"),)

    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_id)
    batch_id: Mapped[str] = mapped_column(ForeignKey("batches.id"), index=True)
    serial: Mapped[str] = mapped_column(String(64))

    batch: Mapped[Batch] = relationship(back_populates="containers")


class BatchLink(db.Model):
    """A genealogy edge: ``child`` was made from ``parent`` (split, shipment, transformation)."""

    __tablename__ = "batch_links"

    child_id: Mapped[str] = mapped_column(ForeignKey("batches.id"), primary_key=True)
    parent_id: Mapped[str] = mapped_column(ForeignKey("batches.id"), primary_key=True, index=True)
    kind: Mapped[str] = mapped_column(String(16))
    quantity_micro: Mapped[int] = mapped_column(BigInteger)


class Transfer(db.Model):
    __tablename__ = "transfers"
    # The delivery worker's scan for shipments not received in time seeks this.
    __table_args__ = (Index("ix_transfers_overdue", "status", "overdue_alerted_at", "shipped_at"),)

    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_id)
    source_batch_id: Mapped[str] = mapped_column(ForeignKey("batches.id"), index=True)
    shipped_batch_id: Mapped[str] = mapped_column(ForeignKey("batches.id"), unique=True)
    from_organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    to_organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    to_facility_id: Mapped[str | None] = mapped_column(ForeignKey("facilities.id"))
    status: Mapped[str] = mapped_column(String(32))
    quantity_micro: Mapped[int] = mapped_column(BigInteger)
    received_quantity_micro: Mapped[int | None] = mapped_column(BigInteger)
    documents: Mapped[list[dict[str, str]]] = mapped_column(JSON)
    shipped_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reject_reason: Mapped[str | None] = mapped_column(String(500))
    # When shipment_not_received was raised for it (registry.subscriptions.overdue): once.
    overdue_alerted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    # The batch on its way (its unit and dimension are the transfer's); read only.
    shipped_batch: Mapped[Batch] = relationship(foreign_keys=[shipped_batch_id], viewonly=True)


class Event(db.Model):
    """One thing that happened to a batch. Rows are only ever inserted."""

    __tablename__ = "events"
    # Each filter of the events query seeks its value, then walks the ledger order.
    __table_args__ = (
        Index("ix_events_batch", "batch_id", "ledger_index"),
        Index("ix_events_organization", "organization_id", "ledger_index"),
        Index("ix_events_substance", "cas_rn", "ledger_index"),
        Index("ix_events_type", "type", "ledger_index"),
        # An organisation's previous movements of one kind and substance (red flags).
        Index(
            "ix_events_organization_type_substance",
            "organization_id",
            "type",
            "cas_rn",
            "ledger_index",
        ),
    )

    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_id)
    # Dense and gap-free: the position of this event's leaf in the ledger.
    ledger_index: Mapped[int] = mapped_column(BigInteger, unique=True)
    type: Mapped[str] = mapped_column(String(32))
    batch_id: Mapped[str] = mapped_column(ForeignKey("batches.id"))
    cas_rn: Mapped[str | None] = mapped_column(String(12))
    # The organisation whose stock the event concerns (the holder at the time).
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    facility_id: Mapped[str | None] = mapped_column(ForeignKey("facilities.id"))
    # Who did it: the credential, its role and organisation (a regulator has none).
    credential_id: Mapped[str | None] = mapped_column(String(64))
    actor_organization_id: Mapped[str | None] = mapped_column(String(26))
    actor_role: Mapped[str | None] = mapped_column(String(16))
    dimension: Mapped[str | None] = mapped_column(String(6))
    # The amount the event is about (shipped, received, consumed...), in micro-units.
    quantity_micro: Mapped[int | None] = mapped_column(BigInteger)
    # How the batch's own quantity changed; the deltas of a batch sum to its quantity.
    quantity_delta_micro: Mapped[int | None] = mapped_column(BigInteger)
    related_batch_id: Mapped[str | None] = mapped_column(String(26))
    transfer_id: Mapped[str | None] = mapped_column(String(26))
    documents: Mapped[list[dict[str, str]]] = mapped_column(JSON)
    details: Mapped[dict[str, object]] = mapped_column(JSON)
    flagged: Mapped[bool] = mapped_column(default=False)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


class LedgerHead(db.Model):
    """One row: how many leaves the ledger has. Incremented under a row lock per event."""

    __tablename__ = "ledger_head"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    # The latest checkpoint, so that deciding whether to sign a new one reads nothing more.
    checkpoint_size: Mapped[int | None] = mapped_column(BigInteger)
    checkpoint_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class LedgerLeaf(db.Model):
    """The leaf hash appended for an event, and which event it was. Level 0 of the tree."""

    __tablename__ = "ledger_leaves"

    index: Mapped[int] = mapped_column(
        "leaf_index", BigInteger, primary_key=True, autoincrement=False
    )
    # Deliberately not a foreign key: the ledger is a record *about* the events table, and
    # `chemtrace ledger verify` must be able to find rows deleted from it.
    event_id: Mapped[str] = mapped_column(String(26), unique=True)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class LedgerNode(db.Model):
    """The hash of a complete, aligned subtree: leaves [index << level, (index + 1) << level).

    Written once, when its last leaf is appended; any root or proof reads O(log n) of them.
    """

    __tablename__ = "ledger_nodes"

    level: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    index: Mapped[int] = mapped_column(
        "node_index", BigInteger, primary_key=True, autoincrement=False
    )
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class LedgerCheckpoint(db.Model):
    """A signed C2SP checkpoint of the ledger at some size."""

    __tablename__ = "ledger_checkpoints"

    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_id)
    tree_size: Mapped[int] = mapped_column(BigInteger, index=True)
    root_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    origin: Mapped[str] = mapped_column(String(255))
    # The whole signed note, exactly as served.
    note: Mapped[str] = mapped_column(Text)
    kid: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class IdempotencyRecord(db.Model):
    """The first answer to a POST with an Idempotency-Key, kept with the write it made."""

    __tablename__ = "idempotency_records"

    credential_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    method: Mapped[str] = mapped_column(String(8))
    path: Mapped[str] = mapped_column(String(500))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int]
    response_body: Mapped[str] = mapped_column(Text)
    # The first answer's Location (a created resource's URL), given again on a replay.
    location: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Identifier(db.Model):
    """A signed label token for a batch, or for one of its containers."""

    __tablename__ = "identifiers"

    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_id)
    batch_id: Mapped[str] = mapped_column(ForeignKey("batches.id"), index=True)
    container_serial: Mapped[str | None] = mapped_column(String(64))
    # Who held the batch when the label was made: printed on it, so it never changes.
    holder_organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    token: Mapped[str] = mapped_column(String(1000), unique=True)
    kid: Mapped[str] = mapped_column(String(16))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class AccessRecord(db.Model):
    """One lookup of a batch, a report or the ledger by an authenticated caller."""

    __tablename__ = "access_log"
    __table_args__ = (Index("ix_access_log_object", "object_id", "id"),)

    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_id)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    credential_id: Mapped[str] = mapped_column(String(64), index=True)
    role: Mapped[str] = mapped_column(String(16))
    organization_id: Mapped[str | None] = mapped_column(String(26))
    action: Mapped[str] = mapped_column(String(64))
    object_id: Mapped[str | None] = mapped_column(String(64))
    query: Mapped[str | None] = mapped_column(String(500))
    # The person behind an identity-platform token: a keyed hash, never the number itself.
    person_hash: Mapped[str | None] = mapped_column(String(64), index=True)


# --- Saved queries, subscriptions and their outbox -----------------------------------


class SavedQuery(db.Model):
    """A named EPCIS events query a regulator saved (EPCIS 2.0 REST bindings, /queries)."""

    __tablename__ = "saved_queries"
    __table_args__ = (UniqueConstraint("owner_credential_id", "name"),)

    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(100))
    # The query parameters as given (lists of strings, times as ISO 8601 strings).
    parameters: Mapped[dict[str, object]] = mapped_column(JSON)
    # Whose it is: a query, and what its subscriptions deliver, is what this caller may see.
    owner_credential_id: Mapped[str] = mapped_column(String(64), index=True)
    owner_role: Mapped[str] = mapped_column(String(16))
    owner_organization_id: Mapped[str | None] = mapped_column(String(26))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Subscription(db.Model):
    """A webhook subscription to a saved query: every new matching event is posted to ``dest``."""

    __tablename__ = "subscriptions"
    __table_args__ = (Index("ix_subscriptions_due", "active", "next_attempt_at"),)

    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_id)
    query_id: Mapped[str] = mapped_column(ForeignKey("saved_queries.id"), index=True)
    dest: Mapped[str] = mapped_column(String(2000))
    # The signing secret, encrypted (AES-GCM, key outside the database: crypto.secretbox).
    secret_encrypted: Mapped[bytes] = mapped_column(LargeBinary(128))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Delivery state: consecutive failures, when to try again, the last 2xx.
    failures: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(String(500))


class OutboxMessage(db.Model):
    """One event to post to one subscription, written in the event's own transaction."""

    __tablename__ = "outbox_messages"
    __table_args__ = (
        # An event is posted once per subscription as it is written, and may be the subject
        # of one later alert (kind "alert") as well.
        UniqueConstraint("subscription_id", "event_id", "kind"),
        Index("ix_outbox_pending", "subscription_id", "delivered_at", "ledger_index"),
        # The delivery worker prunes delivered messages by age.
        Index("ix_outbox_delivered", "delivered_at"),
    )

    # Also the `webhook-id` the receiver deduplicates on.
    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_id)
    subscription_id: Mapped[str] = mapped_column(ForeignKey("subscriptions.id"))
    event_id: Mapped[str] = mapped_column(String(26))
    # "event": the event as it was written; "alert": a red flag raised later about it.
    kind: Mapped[str] = mapped_column(String(8), default="event")
    ledger_index: Mapped[int] = mapped_column(BigInteger)
    # The red flags the event raised when it was written, or the alert's; empty for a plain match.
    flags: Mapped[list[str]] = mapped_column(JSON, default=list)
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class EpcisEventId(db.Model):
    """An event's EPCIS ``eventID`` (its CBV 2.0 hash), for GET /epcis/events/{eventID}.

    The hash is over the event as emitted, which names the service's public URL, so it is
    kept per public URL (``base``, a digest of it). Rows are added in ledger order, lazily,
    by the first lookup after events were recorded (``registry.epcis.event_ids``).
    """

    __tablename__ = "epcis_event_ids"
    __table_args__ = (Index("ix_epcis_event_ids_ledger", "base", "ledger_index"),)

    base: Mapped[str] = mapped_column(String(16), primary_key=True)
    event_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    event_id: Mapped[str] = mapped_column(ForeignKey("events.id"))
    ledger_index: Mapped[int] = mapped_column(BigInteger)


class EpcisCaptureJob(db.Model):
    """One EPCIS capture (POST /epcis/capture or /epcis/events) and what came of it.

    Capture runs within the request, so a job is finished when it is first seen; the row
    keeps its outcome for the standard's capture-job resources, across restarts.
    """

    __tablename__ = "epcis_capture_jobs"
    __table_args__ = (Index("ix_epcis_capture_jobs_organization", "organization_id", "id"),)

    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_id)
    # The enterprise that captured: only it (and regulators and admins) may see the job.
    organization_id: Mapped[str | None] = mapped_column(ForeignKey("organizations.id"))
    credential_id: Mapped[str] = mapped_column(String(64))
    error_behaviour: Mapped[str] = mapped_column(String(8))  # rollback | proceed
    running: Mapped[bool] = mapped_column(default=False)
    success: Mapped[bool]
    event_count: Mapped[int]
    # [{index, operation, id}] for each event recorded.
    captured: Mapped[list[dict[str, object]]] = mapped_column(JSON)
    # [{index, field, code, message, template, values}]: why each event was not recorded.
    errors: Mapped[list[dict[str, object]]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
