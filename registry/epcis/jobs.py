"""EPCIS capture jobs: each capture recorded with its outcome, for the standard's
``/capture/{captureID}`` resources.

Capture runs within the request (``registry.epcis.capture``), so a job is written finished
(``running`` false) in the same transaction as the events it recorded; a refused document
(not valid EPCIS, too many events) makes no job. A job is seen by the organisation whose
enterprise captured it, and by regulators and admins.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from registry.access.credentials import Principal
from registry.db import db, new_id, utcnow
from registry.epcis import capture as epcis_capture
from registry.epcis import documents
from registry.errors import InvalidInput, NotFound, message
from registry.models import EpcisCaptureJob
from registry.pagination import decode_cursor, encode_cursor

OVERSEERS = frozenset({"regulator", "admin"})


@dataclass(frozen=True)
class JobPage:
    jobs: list[EpcisCaptureJob]
    next_page_token: str | None


def _refusal(refusal: epcis_capture.Refusal) -> dict[str, Any]:
    # The template and its values, so the message can be said again in the reader's language.
    template = getattr(refusal.message, "template", str(refusal.message))
    values = {k: str(v) for k, v in getattr(refusal.message, "values", {}).items()}
    return {
        "index": refusal.index,
        "field": f"epcisBody.eventList.{refusal.index}",
        "code": refusal.code,
        "message": str(refusal.message),
        "template": template,
        "values": values,
    }


def _record(
    actor: Principal, behaviour: str, count: int, outcome: epcis_capture.Outcome
) -> EpcisCaptureJob:
    now = utcnow()
    job = EpcisCaptureJob(
        id=new_id(),
        organization_id=actor.organization_id,
        credential_id=actor.credential_id,
        error_behaviour=behaviour,
        running=False,
        success=not outcome.refusals,
        event_count=count,
        captured=[
            {"index": c.index, "operation": c.operation, "id": c.object_id}
            for c in outcome.captured
        ],
        errors=[_refusal(r) for r in outcome.refusals],
        created_at=now,
        finished_at=now,
    )
    db.session.add(job)
    db.session.flush()
    return job


def capture(
    document: Any, actor: Principal, base_url: str, behaviour: str = epcis_capture.ROLLBACK
) -> EpcisCaptureJob:
    """Capture an EPCISDocument as a job. A document refused whole raises (no job); events
    refused one by one are the job's ``errors``."""
    events = documents.events_of(document)
    outcome = epcis_capture.apply(events, actor, base_url, behaviour)
    return _record(actor, behaviour, len(events), outcome)


def capture_event(event: Any, actor: Principal, base_url: str) -> EpcisCaptureJob:
    """The standard's single-event capture: recorded, or refused with
    :class:`~registry.epcis.capture.CaptureRefused` and nothing kept."""
    events = documents.events_of(event, single=True)
    outcome = epcis_capture.apply(events, actor, base_url)
    if outcome.refusals:
        raise epcis_capture.CaptureRefused(
            message("The event cannot be recorded; nothing was."),
            field_errors=epcis_capture.refusal_errors(outcome.refusals),
        )
    return _record(actor, epcis_capture.ROLLBACK, 1, outcome)


def _visible(actor: Principal):
    statement = select(EpcisCaptureJob)
    if actor.role not in OVERSEERS:
        statement = statement.where(EpcisCaptureJob.organization_id == actor.organization_id)
    return statement


def job(job_id: str, actor: Principal) -> EpcisCaptureJob:
    """One job; another organisation's is no different from none (NotFound)."""
    found = db.session.scalar(_visible(actor).where(EpcisCaptureJob.id == job_id))
    if found is None:
        raise NotFound(message("No capture job {capture_id}.", capture_id=job_id))
    return found


def jobs(actor: Principal, per_page: int, next_page_token: str | None) -> JobPage:
    """The jobs the actor may see, oldest first, a page at a time."""
    statement = _visible(actor)
    if next_page_token:
        try:
            last = decode_cursor(next_page_token)
        except InvalidInput:
            raise InvalidInput(
                "nextPageToken", message("Not a token this service issued."), "invalid_cursor"
            ) from None
        statement = statement.where(EpcisCaptureJob.id > last)
    found = list(db.session.scalars(statement.order_by(EpcisCaptureJob.id).limit(per_page + 1)))
    more = len(found) > per_page
    found = found[:per_page]
    return JobPage(found, encode_cursor(found[-1].id) if more else None)
