"""GS1 EPCIS 2.0 capture: documents as capture jobs (``/capture``), one event alone
(``POST /events``), and the jobs' outcomes (``/capture/{captureID}``).

Capture runs within the request: the job is finished when the 202 is sent, and its
resource says what came of each event. ``GS1-Capture-Error-Behaviour: rollback`` (the
default) records all of a document's events or none; ``proceed`` keeps the ones that can be
recorded and lists the others.
"""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, request, url_for

from api.auth import current_principal, requires_roles
from api.bodies import json_object, load_query
from api.errors import ApiProblem
from api.i18n import localised
from api.routes.epcis.common import PageQuery, bp, with_next_link
from api.schemas.common import timestamp
from api.transactions import write_route
from registry.epcis import capture as epcis_capture
from registry.epcis import jobs, mapping
from registry.errors import Message, message
from registry.models import EpcisCaptureJob

MEDIA_TYPES = ("application/ld+json", "application/json")
BEHAVIOURS = (epcis_capture.ROLLBACK, epcis_capture.PROCEED)


def job_json(job: EpcisCaptureJob) -> dict[str, Any]:
    """A job as the binding's CaptureJob, with what each recorded event became."""
    body: dict[str, Any] = {
        "captureID": job.id,
        "createdAt": timestamp(job.created_at),
        "running": job.running,
        "success": job.success,
        "captureErrorBehaviour": job.error_behaviour,
        "eventCount": job.event_count,
        "captured": job.captured,
        "errors": [
            {
                "index": e["index"],
                "field": e["field"],
                "code": e["code"],
                "message": localised(Message(str(e["template"]), **dict(e["values"]))),
            }
            for e in job.errors
        ],
    }
    if job.finished_at is not None:
        body["finishedAt"] = timestamp(job.finished_at)
    return body


def _behaviour() -> str:
    value = request.headers.get("GS1-Capture-Error-Behaviour", epcis_capture.ROLLBACK)
    if value not in BEHAVIOURS:
        raise ApiProblem(
            400,
            "capture_error_behaviour_invalid",
            message("GS1-Capture-Error-Behaviour is rollback or proceed."),
        )
    return value


def _job_url(job: EpcisCaptureJob) -> str:
    return url_for("epcis.capture_job", captureID=job.id)


@bp.post("/capture")
@requires_roles("enterprise")
@write_route
def capture() -> Response:
    behaviour = _behaviour()
    # Numbers as exact Decimals: EPCIS quantities are JSON numbers.
    document = json_object(MEDIA_TYPES, exact_numbers=True)
    job = jobs.capture(document, current_principal(), current_app.config["PUBLIC_URL"], behaviour)
    response = Response(mapping.dumps(job_json(job)), status=202, mimetype="application/json")
    response.headers["Location"] = _job_url(job)
    return response


@bp.post("/events")
@requires_roles("enterprise")
@write_route
def capture_event() -> Response:
    event = json_object(MEDIA_TYPES, exact_numbers=True)
    job = jobs.capture_event(event, current_principal(), current_app.config["PUBLIC_URL"])
    # The binding answers with the event; where it is now is the job's resource.
    response = Response(
        mapping.dumps(event), status=201, mimetype=request.mimetype or "application/json"
    )
    response.headers["Location"] = _job_url(job)
    return response


@bp.get("/capture")
@requires_roles("enterprise", "regulator", "admin")
def capture_jobs() -> Response:
    query = load_query(PageQuery)
    page = jobs.jobs(current_principal(), query["perPage"], query["nextPageToken"])
    response = Response(
        mapping.dumps([job_json(j) for j in page.jobs]), mimetype="application/json"
    )
    return with_next_link(response, page.next_page_token)


@bp.get("/capture/<captureID>")
@requires_roles("enterprise", "regulator", "admin")
def capture_job(captureID: str) -> Response:  # the binding names it captureID
    job = jobs.job(captureID, current_principal())
    return Response(mapping.dumps(job_json(job)), mimetype="application/json")
