"""Fixtures: a real database (SQLite, or PostgreSQL from CHEMTRACE_DATABASE_URL), the app,
a client that checks every answer against openapi.yaml, and credentials for each role.

The database named by CHEMTRACE_DATABASE_URL is emptied between tests: point it at a
database made for the test run, never at one you care about. Under pytest-xdist (``make
test`` runs one worker per CPU) each worker makes and drops a database of its own beside it.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from openapi_core import Config, OpenAPI
from openapi_core.testing import MockRequest, MockResponse

from api import create_app
from api.database import upgrade_to_head
from registry.access import credentials
from registry.catalogue import organizations, substances
from registry.db import db
from registry.ledger import events
from registry.signing import signer

ROOT = Path(__file__).resolve().parents[1]


def _text(data: bytes | str, **_parameters: str) -> str:
    return data.decode() if isinstance(data, bytes) else data


OPENAPI = OpenAPI.from_file_path(
    str(ROOT / "openapi.yaml"),
    config=Config(
        extra_media_type_deserializers={
            "application/problem+json": json.loads,
            "application/ld+json": json.loads,
            # YAML (the contract itself) and SVG are text: check they are text, not their shape.
            "application/yaml": _text,
            "image/svg+xml": _text,
        }
    ),
)

# Valid enterprise codes (check digit included) for test organisations.
ENTERPRISE_CODES = ["0300588569", "0101248141", "0100109106", "0100109106-001"]


def pytest_report_header(config: pytest.Config) -> str:
    return f"chemtrace database: {_redacted(os.environ.get('CHEMTRACE_DATABASE_URL') or 'sqlite')}"


def _redacted(url: str) -> str:
    return sa.engine.make_url(url).render_as_string(hide_password=True) if "://" in url else url


def pytest_sessionstart(session: pytest.Session) -> None:
    # Before any worker starts: an unreachable database stops the run here, with its reason,
    # rather than in each worker's first test.
    url = os.environ.get("CHEMTRACE_DATABASE_URL")
    if url and not os.environ.get("PYTEST_XDIST_WORKER"):
        _reachable(url).dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The database for this run, migrated to head once. Unreachable means fail, not skip.

    Under pytest-xdist each worker has a database of its own: SQLite in the worker's own
    temporary folder; on PostgreSQL a sibling of the one named, made here and dropped after.
    """
    url = os.environ.get("CHEMTRACE_DATABASE_URL")
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not url:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
    elif worker:
        with _worker_database(url, worker) as worker_url:
            yield _migrated(worker_url, tmp_path_factory)
        return
    yield _migrated(url, tmp_path_factory)


@contextlib.contextmanager
def _worker_database(url: str, worker: str) -> Iterator[str]:
    """A database beside ``url``'s, on the same server, for one xdist worker."""
    named = sa.engine.make_url(url)
    if named.get_backend_name() != "postgresql":
        pytest.exit(
            f"CHEMTRACE_DATABASE_URL={_redacted(url)}: one per worker is made only "
            "on PostgreSQL; run with -n 0",
            returncode=3,
        )
    sibling = named.set(database=f"{named.database}_{worker}")
    # CREATE and DROP DATABASE cannot run inside a transaction.
    server = _reachable(url).execution_options(isolation_level="AUTOCOMMIT")
    drop = f'DROP DATABASE IF EXISTS "{sibling.database}" WITH (FORCE)'
    with server.connect() as connection:
        connection.exec_driver_sql(drop)
        connection.exec_driver_sql(f'CREATE DATABASE "{sibling.database}"')
    try:
        yield sibling.render_as_string(hide_password=False)
    finally:
        with server.connect() as connection:
            connection.exec_driver_sql(drop)
        server.engine.dispose()


def _reachable(url: str) -> sa.Engine:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except sa.exc.OperationalError as exc:
        engine.dispose()
        pytest.exit(f"CHEMTRACE_DATABASE_URL={_redacted(url)} is unreachable: {exc}", returncode=3)
    return engine


def _migrated(url: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    # Reachability was checked already: at session start, or when the worker's database was made.
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "DATA_DIR": tmp_path_factory.mktemp("data")})
    with app.app_context():
        # Start from nothing, so the migrations are what builds the schema.
        db.drop_all()
        with db.engine.begin() as connection:
            connection.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))
        upgrade_to_head()
        db.engine.dispose()
    return url


# The seeded catalogue, which every test starts from. Seeding it costs more than most tests,
# so it is kept between tests whose tables it is identical to the freshly seeded one's.
CATALOGUE_TABLES = ("control_lists", "substances", "substance_control_lists")
_seeded_catalogue: dict[str, str] = {}  # database URL → fingerprint of its seeded catalogue


def fresh_database() -> None:
    """Every table empty but for the ledger head and the seeded catalogue, as a new
    registry's. A catalogue a test changed in any row or column is emptied and seeded again."""
    url = db.engine.url.render_as_string(hide_password=False)
    kept = _seeded_catalogue.get(url) == database_fingerprint(CATALOGUE_TABLES)
    # Children before parents; DELETE rather than PostgreSQL's TRUNCATE, which makes new
    # files for every table and index and costs ten times as much on tables this small.
    for table in reversed(db.metadata.sorted_tables):
        if not (kept and table.name in CATALOGUE_TABLES):
            db.session.execute(table.delete())
    events.ensure_ledger_head()
    if not kept:
        substances.seed_catalogue()
        _seeded_catalogue[url] = database_fingerprint(CATALOGUE_TABLES)
    db.session.commit()


def database_fingerprint(tables: Iterable[str] | None = None) -> str:
    """A digest of every row of ``tables`` (of all), read raw (no type processing) to stay
    quick. Equal digests, equal contents."""
    digest = hashlib.sha256()
    connection = db.session.connection()
    for name in tables or [table.name for table in db.metadata.sorted_tables]:
        table = db.metadata.tables[name]
        order = ", ".join(column.name for column in table.primary_key.columns)
        rows = connection.exec_driver_sql(f"SELECT * FROM {name} ORDER BY {order}")
        digest.update(f"{name}:{rows.fetchall()!r}".encode())
    return digest.hexdigest()


class ContractClient(FlaskClient):
    """A test client that validates every answer against openapi.yaml."""

    def open(self, *args: Any, **kwargs: Any):  # type: ignore[override]
        response = super().open(*args, **kwargs)
        validate_against_contract(response)
        return response


def validate_against_contract(response: Any) -> None:
    """Raise unless ``response`` is what openapi.yaml says this request may get."""
    # Only the method, path and query matter for choosing the response schema; the
    # request body has been consumed by the app by now.
    request = response.request
    # The path as sent (still percent-encoded): a path parameter may hold a URI, whose
    # slashes (%2F) the server decodes before routing.
    path = urlsplit(request.environ.get("RAW_URI") or request.path).path
    OPENAPI.validate_response(
        MockRequest(
            "http://localhost",
            request.method.lower(),
            path,
            args=request.args.to_dict(),
        ),
        MockResponse(
            response.get_data(),
            status_code=response.status_code,
            headers=dict(response.headers),
            content_type=response.content_type,
        ),
    )


@pytest.fixture
def app(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    # Rate limits are off here: the fuzzer and the matrices send far more requests, and
    # failed authentications, than any limit allows. tests/api/test_rate_limits.py turns
    # them on.
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": database_url,
            "DATA_DIR": tmp_path,
            "TESTING": True,
            "RATELIMIT_ENABLED": False,
        }
    )
    app.test_client_class = ContractClient
    with app.app_context():
        signer().keys.ensure()
        fresh_database()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def another_app(app: Flask, database_url: str, tmp_path: Path) -> Iterator[Callable[..., Flask]]:
    """``another_app(**config)`` → a second app with the test app's signing keys, on its
    database unless config names another: a second server, or one configured differently."""
    made: list[Flask] = []

    def make(**config: Any) -> Flask:
        other = create_app(
            {
                "SQLALCHEMY_DATABASE_URI": database_url,
                "DATA_DIR": tmp_path,
                "KEYS_DIR": app.config["KEYS_DIR"],
                "TESTING": True,
                "RATELIMIT_ENABLED": False,
                **config,
            }
        )
        other.test_client_class = ContractClient
        made.append(other)
        return other

    yield make
    for other in made:
        with other.app_context():
            db.engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def raw_client(app: Flask) -> FlaskClient:
    """For requests the contract does not describe (unknown paths, undocumented methods)."""
    return FlaskClient(app, app.response_class)


@pytest.fixture
def runner(app: Flask):
    return app.test_cli_runner()


@pytest.fixture
def org_factory(app: Flask) -> Callable[..., str]:
    codes = iter(ENTERPRISE_CODES)

    def make(name: str = "Test Chemicals JSC") -> str:
        with app.app_context():
            organization = organizations.create_organization(name, next(codes))
            db.session.commit()
            return organization.id

    return make


@pytest.fixture
def auth(app: Flask) -> Callable[..., dict[str, str]]:
    """``auth(role, org_id=None)`` → headers carrying a fresh API key for that role."""

    def make(role: str, organization_id: str | None = None) -> dict[str, str]:
        with app.app_context():
            issued = credentials.issue_api_key(role, organization_id, f"test {role}")
            db.session.commit()
            return {"Authorization": f"Bearer {issued.secret}"}

    return make


@pytest.fixture
def logs(app: Flask) -> Iterator[Callable[[], str]]:
    """``logs()`` → everything logged since, as the service writes it (JSON lines), at DEBUG."""
    root = logging.getLogger()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(root.handlers[0].formatter)
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield stream.getvalue
    root.removeHandler(handler)
    root.setLevel(level)
