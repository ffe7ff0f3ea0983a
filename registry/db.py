"""The database handle shared by the domain and bound to the app with ``init_app``."""

from __future__ import annotations

from datetime import UTC, datetime

from flask_sqlalchemy import SQLAlchemy
from flask_sqlalchemy.session import Session as FlaskSession
from sqlalchemy import DateTime, Executable, MetaData, Row, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator
from ulid import ULID

# Deterministic constraint names, so that Alembic autogenerate and hand-written
# migrations agree on both SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class RegistrySession(FlaskSession):
    """The registry's own session class. The ledger's commit guard
    (``registry.ledger.events``) listens on this class alone, not on every SQLAlchemy
    Session in the process."""


db = SQLAlchemy(model_class=Base, session_options={"class_": RegistrySession})


def read_first(statement: Executable, **parameters: object) -> Row | None:
    """The first row of a read, on a pooled connection of its own: no Session, identity map
    or loader work for a hot read of a few columns. Inside a Session already at work (a
    transaction begun, changes pending) the read goes through it, so it sees what that
    Session wrote, exactly as an ORM query would."""
    if db.session.registry.has():
        session = db.session()
        if session.in_transaction() or session.new or session.dirty or session.deleted:
            return session.execute(statement, parameters).first()
    with db.engine.connect() as connection:
        return connection.execute(statement, parameters).first()


def new_id() -> str:
    """An opaque, time-ordered identifier (ULID), so keyset pagination follows creation order."""
    return str(ULID())


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timestamps stored in UTC and always handed back timezone-aware.

    SQLite has no timezone type and returns naive datetimes; without this the same
    model would answer with offsets on PostgreSQL and without them on SQLite.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):  # type: ignore[override]
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect):  # type: ignore[override]
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


WRITE_TRANSACTION = "chemtrace_write"


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record) -> None:
    # WAL lets readers proceed while one writer commits; foreign keys are off by default.
    # How long a writer waits for another is the driver's `timeout` (the engine options).
    module = type(dbapi_connection).__module__
    if not module.startswith("sqlite3"):
        return
    # We emit BEGIN ourselves (below), so the driver must not start transactions on its own.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


@event.listens_for(Engine, "begin")
def _sqlite_begin(connection) -> None:
    """On SQLite, a transaction that will write takes the write lock when it begins.

    A deferred transaction that reads and then writes fails at once if another writer
    committed in between (SQLITE_BUSY_SNAPSHOT); BEGIN IMMEDIATE queues it instead.
    """
    if connection.dialect.name != "sqlite":
        return
    immediate = connection.get_execution_options().get(WRITE_TRANSACTION)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def begin_write() -> None:
    """Start the session's transaction as a write transaction (see ``_sqlite_begin``)."""
    db.session.connection(execution_options={WRITE_TRANSACTION: True})
