"""What every EPCIS resource shares: the blueprint, the GS1 headers on every answer and on
``OPTIONS``, and paging."""

from __future__ import annotations

import re
from urllib.parse import urlencode

from flask import Blueprint, Response, current_app, request
from marshmallow import fields, validate

from api.config import MAX_BODY_BYTES
from api.errors import HTTP_DETAILS, ApiProblem
from api.schemas.common import PRINTABLE_ASCII, QueryInteger, StrictSchema
from registry.epcis import documents, event_ids, mapping

bp = Blueprint("epcis", __name__, url_prefix="/api/v1/epcis")

EPCIS_VERSION = CBV_VERSION = "2.0.0"


def _limits() -> dict[str, str]:
    return {
        "GS1-EPCIS-Capture-Limit": str(documents.MAX_EVENTS),
        "GS1-EPCIS-Capture-File-Size-Limit": str(MAX_BODY_BYTES),
    }


# What a resource's value in a path may be (as the contract bounds it); OPTIONS on anything
# else names no resource.
CAPTURE_ID = re.compile(r"[0-9A-Za-z]{1,26}")
MAX_PATH_VALUE = 200


def known_path_value(name: str, value: str) -> bool:
    if name == "captureID":
        return CAPTURE_ID.fullmatch(value) is not None
    if name == "eventID":
        return event_ids.digest_of(value) is not None
    return len(value) <= MAX_PATH_VALUE and PRINTABLE_ASCII.regex.match(value) is not None


@bp.before_request
def _options_of_a_known_resource() -> None:
    # GET checks its values itself; Flask answers OPTIONS without calling the view.
    if request.method == "OPTIONS" and not all(
        known_path_value(k, str(v)) for k, v in (request.view_args or {}).items()
    ):
        raise ApiProblem(404, "not_found", HTTP_DETAILS[404])


@bp.after_request
def _gs1_headers(response: Response) -> Response:
    namespace = mapping.extension_namespace(current_app.config["PUBLIC_URL"])
    response.headers["GS1-EPCIS-Version"] = EPCIS_VERSION
    response.headers["GS1-CBV-Version"] = CBV_VERSION
    # The binding's header is an object in the simple style, unexploded: name,value.
    response.headers["GS1-Extensions"] = f"{mapping.EXTENSION_PREFIX},{namespace}"
    if request.method == "OPTIONS" and response.status_code == 200:
        # Flask's automatic OPTIONS answer, with Allow; the binding says 204 and no body.
        response.status_code = 204
        response.set_data(b"")
        response.headers.pop("Content-Type", None)
        for name in ("EPCIS", "CBV"):
            response.headers[f"GS1-{name}-Min"] = EPCIS_VERSION
            response.headers[f"GS1-{name}-Max"] = EPCIS_VERSION
        if request.path.rstrip("/").endswith("/capture"):
            response.headers.update(_limits())
            response.headers["GS1-Capture-Error-Behaviour"] = "all"
    if response.status_code == 202 and "Location" not in response.headers:
        # A replay of a key recorded before replays kept their Location: the job the body
        # names is the Location.
        capture_id = (response.get_json(silent=True) or {}).get("captureID")
        if isinstance(capture_id, str):
            response.headers["Location"] = f"{bp.url_prefix}/capture/{capture_id}"
    if response.status_code == 413:
        response.headers.update(_limits())
    return response


DEFAULT_PER_PAGE = 30
MAX_PER_PAGE = 500


def ascii_text(max_length: int) -> fields.String:
    # Bounded, and ASCII (URIs, CBV names), so that the whole query stays within the request
    # target the service accepts (MAX_REQUEST_TARGET_BYTES) even when every byte is escaped.
    return fields.String(
        load_default=None, validate=[validate.Length(1, max_length), PRINTABLE_ASCII]
    )


class PageQuery(StrictSchema):
    perPage = QueryInteger(load_default=DEFAULT_PER_PAGE, validate=validate.Range(1, MAX_PER_PAGE))
    nextPageToken = ascii_text(200)


def with_next_link(response: Response, token: str | None) -> Response:
    """``response`` with the binding's ``Link: <next page>; rel="next"`` when there is one."""
    if token:
        args = {k: v for k, v in request.args.items() if k != "nextPageToken"}
        args["nextPageToken"] = token
        link = f"{request.base_url}?{urlencode(args)}"
        response.headers["Link"] = f'<{link}>; rel="next"'
    return response
