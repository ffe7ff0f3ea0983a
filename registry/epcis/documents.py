"""An EPCIS capture's input checked whole, before any event is recorded: valid EPCIS 2.0
(the EPCIS JSON Schema), the EPCIS ``@context`` in either of GS1's forms, an EPCISDocument
or EPCISQueryDocument (or, for the single-event capture, one event), 1 to
:data:`MAX_EVENTS` events.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

import jsonschema_rs
from jsonschema import Draft7Validator, ValidationError

from registry.errors import FieldError, LimitExceeded, Malformed, message

# As many events as a bulk registration takes batches: one capture is one transaction.
MAX_EVENTS = 1000
# GS1 publishes the EPCIS 2.0 context under both addresses; either names it.
EPCIS_CONTEXTS = frozenset(
    {
        "https://ref.gs1.org/standards/epcis/epcis-context.jsonld",
        "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
    }
)


class DocumentInvalid(Malformed):
    code = "epcis_invalid"
    title = message("The EPCIS document is not valid")


class CaptureLimitExceeded(LimitExceeded):
    code = "epcis_capture_limit"
    title = message("Too many EPCIS events at once")


@cache
def _schema() -> dict[str, Any]:
    text = resources.files("registry.data").joinpath("EPCIS-JSON-Schema.json").read_text()
    return json.loads(text)


@cache
def _validator() -> Draft7Validator:
    return Draft7Validator(_schema())


@cache
def _quick_validator() -> jsonschema_rs.Draft7Validator:
    # Formats unchecked, as by jsonschema's validator without a format checker.
    return jsonschema_rs.Draft7Validator(_schema(), validate_formats=False)


def _schema_errors(document: Any) -> list[ValidationError]:
    """The schema's errors in ``document``, by path. jsonschema in Python takes about 2.5 ms
    per event, the Rust validator a hundredth of that: it says whether the document is
    valid; only a document it refuses is checked again by jsonschema, whose errors (their
    paths and messages) are the answer's, as they were before."""
    try:
        if _quick_validator().is_valid(document):
            return []
    except (TypeError, ValueError):  # a value it cannot read: jsonschema decides
        pass
    return sorted(_validator().iter_errors(document), key=lambda e: list(e.absolute_path))


def _invalid(detail: str, errors: list[FieldError]) -> DocumentInvalid:
    return DocumentInvalid(detail, field_errors=errors)


def _names_epcis_context(context: Any) -> bool:
    parts = context if isinstance(context, list) else [context]
    return any(isinstance(p, str) and p in EPCIS_CONTEXTS for p in parts)


def _event_list(document: Any) -> Any:
    """The eventList of an EPCISDocument, or of an EPCISQueryDocument's results (the
    binding's capture takes both)."""
    body = document.get("epcisBody") if isinstance(document, dict) else None
    if isinstance(body, dict) and document.get("type") == "EPCISQueryDocument":
        results = body.get("queryResults")
        body = results.get("resultsBody") if isinstance(results, dict) else None
    return body.get("eventList") if isinstance(body, dict) else None


def events_of(document: Any, *, single: bool = False) -> list[dict[str, Any]]:
    """The events of an EPCISDocument (or, ``single``, the one event posted alone), after
    checking the whole: raise :class:`DocumentInvalid` or :class:`CaptureLimitExceeded`."""
    event_list = _event_list(document)
    if not single and isinstance(event_list, list) and len(event_list) > MAX_EVENTS:
        raise CaptureLimitExceeded(
            message(
                "A capture takes at most {max_events} events; split the document.",
                max_events=MAX_EVENTS,
            ),
            field_errors=[
                FieldError(
                    "epcisBody.eventList",
                    message(
                        "{count} events; at most {max_events}.",
                        count=len(event_list),
                        max_events=MAX_EVENTS,
                    ),
                    "too_many_events",
                )
            ],
        )
    errors = _schema_errors(document)
    if errors:
        raise _invalid(
            message("The document is not a valid EPCIS 2.0 document."),
            [
                FieldError(
                    ".".join(str(p) for p in e.absolute_path) or "document",
                    e.message[:300],
                    "epcis_invalid",
                )
                for e in errors[:20]
            ],
        )
    kind = document.get("type")
    if single and kind in ("EPCISDocument", "EPCISQueryDocument"):
        raise _invalid(
            message("Send one EPCIS event here; documents go to /capture."),
            [FieldError("type", message("Send an EPCIS event."), "epcis_invalid")],
        )
    if not single and kind not in ("EPCISDocument", "EPCISQueryDocument"):
        raise _invalid(
            message("Capture takes an EPCISDocument or an EPCISQueryDocument."),
            [FieldError("type", message("Send an EPCISDocument."), "epcis_invalid")],
        )
    if not _names_epcis_context(document.get("@context")):
        raise _invalid(
            message("The @context must name the EPCIS 2.0 context."),
            [
                FieldError(
                    "@context",
                    message(
                        "Name {context} (or its 2.0.0 form).",
                        context=min(EPCIS_CONTEXTS, key=len),
                    ),
                    "epcis_invalid",
                )
            ],
        )
    if single:
        return [document]
    events = _event_list(document) or []
    if not events:
        raise _invalid(
            message("The document has no events."),
            [FieldError("epcisBody.eventList", message("No events."), "epcis_invalid")],
        )
    return events
