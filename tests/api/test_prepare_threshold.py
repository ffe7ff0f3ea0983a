"""CHEMTRACE_DB_PREPARE_THRESHOLD: psycopg's server-side prepared statements, off behind a
transaction-mode pooler (docs/scaling.md)."""

from __future__ import annotations

import pytest

from api.config import engine_options

PG = "postgresql+psycopg://chemtrace@127.0.0.1:6432/chemtrace"


def test_psycopg_default_kept_when_unset(monkeypatch):
    monkeypatch.delenv("CHEMTRACE_DB_PREPARE_THRESHOLD", raising=False)
    assert engine_options(PG)["connect_args"]["prepare_threshold"] == 5


@pytest.mark.parametrize(("raw", "expected"), [("none", None), ("off", None), ("0", 0)])
def test_none_turns_prepared_statements_off(monkeypatch, raw, expected):
    monkeypatch.setenv("CHEMTRACE_DB_PREPARE_THRESHOLD", raw)
    assert engine_options(PG)["connect_args"]["prepare_threshold"] == expected


def test_anything_else_is_refused(monkeypatch):
    monkeypatch.setenv("CHEMTRACE_DB_PREPARE_THRESHOLD", "never")
    with pytest.raises(ValueError, match="CHEMTRACE_DB_PREPARE_THRESHOLD"):
        engine_options(PG)


def test_sqlite_takes_no_psycopg_option(monkeypatch):
    monkeypatch.setenv("CHEMTRACE_DB_PREPARE_THRESHOLD", "none")
    assert "prepare_threshold" not in engine_options("sqlite:///x.db")["connect_args"]
