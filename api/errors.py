"""RFC 9457 problem details for every error the service answers with.

The ``title`` and ``detail`` are said in the request's language (``api.i18n``): a domain
:class:`~registry.errors.Message` by its template, translated and then filled with its values;
any other text as a whole (a text no catalogue has stays as it is). ``code``, ``type``,
``status``, field names and field error codes never change with the language. The messages
of ``errors[]`` are translated the same way when the domain wrote them; marshmallow's own
messages (``Unknown field.``, ``Not a valid string.``...) stay English. The few problems
gunicorn writes itself (``api.gunicorn_conf``, before Flask sees the request) stay English:
no locale is known there.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from flask import Flask, Response, g, has_request_context, json, request
from marshmallow import ValidationError
from sqlalchemy import exc as sa_exc
from werkzeug.exceptions import HTTPException

from api.i18n import localised
from registry import errors as domain
from registry.errors import message

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"

# Stable codes for the statuses Werkzeug raises on its own.
HTTP_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "body_too_large",
    414: "uri_too_long",
    415: "unsupported_media_type",
    422: "validation_failed",
    429: "rate_limited",
    431: "headers_too_large",
    500: "internal_error",
    503: "unavailable",
}

# The titles of those statuses (Python's HTTPStatus phrases, marked for the catalogues).
HTTP_TITLES = {
    400: message("Bad Request"),
    401: message("Unauthorized"),
    403: message("Forbidden"),
    404: message("Not Found"),
    405: message("Method Not Allowed"),
    406: message("Not Acceptable"),
    409: message("Conflict"),
    413: message("Request Entity Too Large"),
    414: message("Request-URI Too Long"),
    415: message("Unsupported Media Type"),
    422: message("Unprocessable Entity"),
    429: message("Too Many Requests"),
    431: message("Request Header Fields Too Large"),
    500: message("Internal Server Error"),
    503: message("Service Unavailable"),
}

# What Werkzeug says when it refuses a request on its own (its default descriptions are
# English only and not in any catalogue): said instead, in the reader's language.
HTTP_DETAILS = {
    400: message("The request is malformed."),
    404: message("No route of this service matches that URL."),
    405: message("This route does not accept that method."),
    406: message("This route cannot answer in a media type the Accept header allows."),
    413: message("The request body is larger than this service accepts."),
    415: message("This route does not accept that media type."),
    431: message("The request's header fields are too large."),
}

DOMAIN_STATUS: dict[type[domain.DomainError], int] = {
    domain.InvalidInput: 422,
    domain.Unprocessable: 422,
    domain.Malformed: 400,
    domain.LimitExceeded: 413,
    domain.NotFound: 404,
    domain.Conflict: 409,
    domain.Unauthenticated: 401,
    domain.Forbidden: 403,
}


# What the database driver raises when the server is down, unreachable, restarting or too
# busy (a lock wait or a pool wait that ran out): the request changed nothing and may be
# retried, so the answer is 503 with Retry-After, not a 500.
DATABASE_UNAVAILABLE: tuple[type[Exception], ...] = (
    sa_exc.OperationalError,
    sa_exc.InterfaceError,
    sa_exc.TimeoutError,
    sa_exc.DisconnectionError,
)
RETRY_AFTER_SECONDS = 5


class ApiProblem(Exception):
    """A problem raised by the HTTP layer itself (bad JSON, wrong media type, ...); give its
    detail as a ``message()`` so that it is translated."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.status, self.code, self.detail, self.extra = status, code, detail, extra
        self.headers = headers


# The EPCIS REST bindings' problem types, by status, for answers under the EPCIS root.
EPCIS_ROOT = "/api/v1/epcis"
EPCIS_TYPES = {
    400: "ValidationException",
    401: "SecurityException",
    403: "SecurityException",
    404: "NoSuchNameException",
    406: "NotAcceptableException",
    409: "ResourceAlreadyExistsException",
    413: "CaptureLimitExceededException",
    414: "URITooLongException",
    415: "UnsupportedMediaTypeException",
    422: "ValidationException",
    500: "ImplementationException",
    501: "ImplementationException",
}


def _problem_type(status: int, code: str) -> str:
    if has_request_context() and request.path.startswith(EPCIS_ROOT) and status in EPCIS_TYPES:
        name = EPCIS_TYPES[status]
        if request.method == "GET" and status in (400, 422):
            name = "QueryParameterException"  # a refused query parameter
        return f"epcisException:{name}"
    return f"urn:chemtrace:problem:{code}"


def problem(
    status: int,
    code: str,
    detail: str,
    title: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Response:
    body: dict[str, Any] = {
        "type": _problem_type(status, code),
        "title": localised(title or _default_title(status)),
        "status": status,
        "detail": localised(detail),
        "code": code,
        **extra,
    }
    request_id = g.get("request_id")
    if request_id:
        body["request_id"] = request_id
    response = Response(json.dumps(body), status=status, mimetype=PROBLEM_JSON)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="chemtrace"'
    return response


def _default_title(status: int) -> str:
    return HTTP_TITLES.get(status) or HTTPStatus(status).phrase


def field_errors(errors: list[domain.FieldError]) -> list[dict[str, str]]:
    return [{"field": e.field, "message": localised(e.message), "code": e.code} for e in errors]


VALIDATION_DETAIL = message("Some fields are missing, unknown or of the wrong type.")


class CodedMessage(str):
    """A validation message that carries its field error code through marshmallow.

    Marshmallow reports errors as text; a schema that sets one of these as an error message
    (``api.schemas.common.StrictSchema`` does, for unknown and missing fields) has the
    problem's ``code`` chosen by it, not by what the text says. Any other message is
    ``invalid_field``.
    """

    code: str

    def __new__(cls, text: str, code: str) -> CodedMessage:
        message = super().__new__(cls, text)
        message.code = code
        return message

    def format(self, *args: Any, **kwargs: Any) -> CodedMessage:
        # Marshmallow formats a field's message before raising it: keep the code.
        return CodedMessage(super().format(*args, **kwargs), self.code)

    def __reduce__(self) -> tuple[Any, ...]:
        return CodedMessage, (str(self), self.code)


def validation_failed(
    errors: list[domain.FieldError], detail: str = VALIDATION_DETAIL
) -> ApiProblem:
    """The 422 ``validation_failed`` problem, listing each field's error."""
    return ApiProblem(422, "validation_failed", detail, errors=field_errors(errors))


def _flatten(messages: Any, prefix: str = "") -> list[domain.FieldError]:
    """Marshmallow's nested error dict as a flat list of field errors."""
    out: list[domain.FieldError] = []
    if isinstance(messages, dict):
        for key, value in messages.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            out.extend(_flatten(value, name))
    elif isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        for message in messages:
            code = getattr(message, "code", "invalid_field")
            out.append(domain.FieldError(prefix or "_body", str(message), code))
    elif isinstance(messages, list):
        for index, value in enumerate(messages):
            out.extend(_flatten(value, f"{prefix}.{index}"))
    else:
        out.append(domain.FieldError(prefix or "_body", str(messages), "invalid_field"))
    return out


def init_app(app: Flask) -> None:
    @app.errorhandler(ApiProblem)
    def _api_problem(exc: ApiProblem) -> Response:
        return problem(exc.status, exc.code, exc.detail, headers=exc.headers, **exc.extra)

    @app.errorhandler(ValidationError)
    def _validation(exc: ValidationError) -> Response:
        return _api_problem(validation_failed(_flatten(exc.messages)))

    @app.errorhandler(domain.DomainError)
    def _domain(exc: domain.DomainError) -> Response:
        status = next(s for cls, s in DOMAIN_STATUS.items() if isinstance(exc, cls))
        extra = {"errors": field_errors(exc.field_errors)} if exc.field_errors else {}
        return problem(status, exc.code, exc.detail, title=exc.title, **extra)

    def _database_unavailable(exc: Exception) -> Response:
        # The driver's class name only: its message can quote the statement and parameters.
        cause = getattr(exc, "orig", None) or exc
        log.warning("database unavailable: %s", type(cause).__name__)
        return problem(
            503,
            "database_unavailable",
            message("The database cannot be reached right now; nothing was changed. Retry later."),
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )

    for error_class in DATABASE_UNAVAILABLE:
        app.register_error_handler(error_class, _database_unavailable)

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Response:
        status = exc.code or 500
        # Keep what Werkzeug meant to send (Allow on a 405, for instance).
        headers = {k: v for k, v in exc.get_headers() if k.lower() != "content-type"}
        detail = exc.description or _default_title(status)
        if status == 405 or (status in HTTP_DETAILS and detail == type(exc).description):
            detail = HTTP_DETAILS[status]
        return problem(status, HTTP_CODES.get(status, "http_error"), detail, headers=headers)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        if isinstance(exc, HTTPException):  # pragma: no cover - handled above
            return _http(exc)
        log.exception("unhandled error", extra={"request_id": g.get("request_id")})
        return problem(
            500,
            "internal_error",
            message("The service failed; the error has been logged."),
            title=HTTP_TITLES[500],
        )
