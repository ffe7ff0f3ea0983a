"""Settings read from CHEMTRACE_* variables: the outbox's retention."""

from __future__ import annotations

import pytest

from api.config import from_environment


def test_the_outbox_retention_is_30_days_unless_set(monkeypatch):
    monkeypatch.delenv("CHEMTRACE_OUTBOX_RETENTION_DAYS", raising=False)
    assert from_environment()["OUTBOX_RETENTION_DAYS"] == 30
    monkeypatch.setenv("CHEMTRACE_OUTBOX_RETENTION_DAYS", "7")
    assert from_environment()["OUTBOX_RETENTION_DAYS"] == 7


@pytest.mark.parametrize("value", ["0", "-1", "seven", "1.5"])
def test_a_retention_that_is_not_a_whole_number_of_days_is_refused(monkeypatch, value):
    monkeypatch.setenv("CHEMTRACE_OUTBOX_RETENTION_DAYS", value)
    with pytest.raises(ValueError, match="CHEMTRACE_OUTBOX_RETENTION_DAYS"):
        from_environment()
