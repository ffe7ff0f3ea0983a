"""Rate limits (Flask-Limiter): per credential, per client address, and on failed sign-ins.

Two limits hold for every route but the health and metrics probes:

- per credential: what one API key or bearer token may ask of the service;
- per client address: what one address may ask, whatever credentials it presents.

Failed authentications (a credential missing, malformed, unknown, revoked or expired on a
route that needs one) are counted twice, and each count refuses only what failed:

- per presented credential: once one credential has failed RATE_LIMIT_FAILED_AUTH times,
  requests with it are refused (429) before it is even looked up;
- per client address: once an address has failed that often, its further failures are
  answered 429 with Retry-After instead of 401. A credential that does authenticate is
  still served from that address: behind a shared NAT, one misconfigured client must not
  lock out every inspector and enterprise behind it.

Neither ever refuses the public routes (verification, the verification page, the JWKS,
the ledger's checkpoint and proofs, the contract, the probes): they take no credential, so a
failed one says nothing about them. Keys are 256-bit random secrets and tokens are signed,
so guessing is hopeless anyway; these limits cut off a client that keeps failing and the
load and noise it makes.

The counters live in Redis when CHEMTRACE_REDIS_URL is set, so that limits hold across
gunicorn workers and servers; otherwise in each worker's memory (``api.rate_counters``). If
Redis fails, requests are served under per-worker memory limits rather than refused (the
registry stays usable).
A refused request gets 429 problem+json with Retry-After.

Before all of these, a request whose target (path and query, as sent) is longer than
MAX_REQUEST_TARGET_BYTES is refused 414 ``uri_too_long`` (see api/config.py).
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING
from urllib.parse import quote

from flask import Flask, Response, current_app, g, request
from flask_limiter import ApplicationLimit, Limiter
from limits import RateLimitItem, parse_many
from werkzeug.exceptions import TooManyRequests
from werkzeug.middleware.proxy_fix import ProxyFix

from api import rate_counters
from api.config import MAX_REQUEST_TARGET_BYTES
from api.errors import RETRY_AFTER_SECONDS, problem
from registry.errors import message

if TYPE_CHECKING:
    from flask_limiter._limits import RuntimeLimit  # not exported by the package

log = logging.getLogger(__name__)

# Probes must answer even when a monitoring system polls them hard.
EXEMPT_ENDPOINTS = frozenset({"health.healthz", "health.readyz", "health.metrics"})
FAILED_FROM_ADDRESS = "failed-authentication-address"


def client_address() -> str:
    # Behind CHEMTRACE_PROXY_HOPS trusted reverse proxies, ProxyFix has already put the
    # client's own address here; without it, X-Forwarded-For is never believed.
    return request.remote_addr or "unknown"


def credential_key() -> str:
    """The presented credential, hashed: the secret itself never reaches the counter store."""
    header = request.headers.get("Authorization", "")
    return hashlib.sha256(header.encode()).hexdigest()[:32]


def _exempt() -> bool:
    return request.endpoint in EXEMPT_ENDPOINTS


def needs_credential() -> bool:
    """Whether this request's route takes a credential (``api.auth.requires_roles`` marks
    the view with the roles it allows); the public routes do not."""
    view = current_app.view_functions.get(request.endpoint or "")
    return getattr(view, "allowed_roles", None) is not None


def _not_a_failing_credential() -> bool:
    return not needs_credential() or "Authorization" not in request.headers


def _authentication_failed(_response: Response) -> bool:
    return g.get("authentication_failed", False)


class _ParsedOnce(ApplicationLimit):
    """An application limit whose runtime limits are built once per process.

    Flask-Limiter 4 iterates every ``ApplicationLimit`` on every request, and each
    iteration parses its limit string again (``limits.parse_many``) and builds new
    ``RuntimeLimit`` objects: a fifth of a ``/.well-known/jwks.json`` request under the
    profiler. The string of an application limit is fixed when the app is made, so the
    same runtime limits (equal field for field to what the library would build) are kept
    from the first request on: built then, after ``Limiter.init_app`` has bound the limit.
    """

    def __iter__(self) -> Iterator[RuntimeLimit]:
        built = self.__dict__.get("_built")
        if built is None:
            built = self.__dict__["_built"] = tuple(super().__iter__())
        return iter(built)


def _limiter(config: dict) -> Limiter:
    return Limiter(
        key_func=client_address,
        application_limits=[
            _ParsedOnce(
                config["RATE_LIMIT_PER_CREDENTIAL"],
                key_function=credential_key,
                scope="credential",
                exempt_when=lambda: _exempt() or "Authorization" not in request.headers,
                error_message=message("Too many requests with this credential."),
            ),
            _ParsedOnce(
                config["RATE_LIMIT_PER_ADDRESS"],
                key_function=client_address,
                scope="address",
                exempt_when=_exempt,
                error_message=message("Too many requests from this address."),
            ),
            # Tested before the request, counted after it when the credential failed: a
            # credential that keeps failing is refused without being looked up again.
            _ParsedOnce(
                config["RATE_LIMIT_FAILED_AUTH"],
                key_function=credential_key,
                scope="failed-authentication-credential",
                exempt_when=_not_a_failing_credential,
                deduct_when=_authentication_failed,
                error_message=message("Too many failed authentications with this credential."),
            ),
        ],
        headers_enabled=True,
        swallow_errors=True,
        in_memory_fallback_enabled=True,
    )


def init_app(app: Flask) -> None:
    hops = app.config["PROXY_HOPS"]
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]
    # Before the limiter's own check: a request refused for its length is not counted.
    app.before_request(_refuse_long_targets)
    # Registered before the limiter's own hook, so it runs after it (Flask runs after_request
    # hooks in reverse): Flask-Limiter puts Retry-After on every answer, rounded down.
    app.after_request(_retry_after_only_when_refused)
    # Without Redis, counters in the worker's memory that start no thread per hit (see
    # api.rate_counters); the import registers their scheme with ``limits``.
    app.config.setdefault(
        "RATELIMIT_STORAGE_URI", app.config["REDIS_URL"] or f"{rate_counters.SCHEME}://"
    )
    app.config.setdefault("RATELIMIT_KEY_PREFIX", "chemtrace")
    # One limiter per app, not one per module: Flask-Limiter keeps its storage and switches
    # on the limiter object, and tests run several apps with different limits in one process.
    limiter = app.extensions["chemtrace_limiter"] = _limiter(app.config)
    # The probes are exempt from every limit (each limit's exempt_when says so too); as a
    # request filter, the limiter sees that before it resolves and walks its limits, which
    # was a quarter of a /healthz request's CPU.
    limiter.request_filter(_exempt)
    limiter.init_app(app)
    app.extensions["chemtrace_failed_auth_limits"] = parse_many(
        app.config["RATE_LIMIT_FAILED_AUTH"]
    )


def request_target_bytes(environ: dict) -> int:
    """The length of the request target as the client sent it (gunicorn and Werkzeug keep it
    in RAW_URI), or, without it, as the path and query would be sent, percent-encoded."""
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if raw is not None:
        return len(raw)
    path = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
    query = environ.get("QUERY_STRING", "")
    return len(quote(path.encode("latin-1"), safe="/;:@&=+$,!~*'()")) + (
        len(query) + 1 if query else 0
    )


def _refuse_long_targets() -> Response | None:
    length = request_target_bytes(request.environ)
    if length <= MAX_REQUEST_TARGET_BYTES:
        return None
    return problem(
        414,
        "uri_too_long",
        message(
            "The request target (path and query) is {length} bytes; at most {maximum} are "
            "accepted. Send fewer or shorter parameters.",
            length=length,
            maximum=MAX_REQUEST_TARGET_BYTES,
        ),
    )


def authentication_failed() -> None:
    """Called by ``api.auth`` when the presented credential (or its absence) fails.

    Counts the failure against the presented credential (after the request, see the limit
    above) and against the client address, now. Once the address is over its budget, this
    failure is answered 429 with Retry-After instead of 401; a credential that authenticates
    never comes here, so it is still served from the same address.
    """
    g.authentication_failed = True
    limiter: Limiter = current_app.extensions["chemtrace_limiter"]
    if not limiter.enabled:
        return
    keys = [current_app.config["RATELIMIT_KEY_PREFIX"], client_address(), FAILED_FROM_ADDRESS]
    items: list[RateLimitItem] = current_app.extensions["chemtrace_failed_auth_limits"]
    try:
        # The fallback in memory when Redis has been found dead (Flask-Limiter's own check
        # ran first in this request).
        strategy = limiter.limiter
        over = [item for item in items if not strategy.hit(item, *keys)]
        reset_at = max(
            (strategy.get_window_stats(item, *keys).reset_time for item in over), default=0
        )
    except Exception:  # the counter store failing must not refuse service
        log.warning("failed-authentication counter unavailable", exc_info=True)
        return
    if over:
        raise TooManyRequests(
            message("Too many failed authentications from this address."),
            retry_after=max(1, math.ceil(reset_at - time.time())),
        )


def _retry_after_only_when_refused(response: Response) -> Response:
    retry_after = response.headers.get("Retry-After")
    if retry_after is None:
        return response
    if response.status_code == 429:
        # Rounded down, a window about to end reads 0, which invites an immediate retry.
        response.headers["Retry-After"] = str(max(1, int(retry_after)))
    elif response.status_code == 503:
        # The database's advice, not the rate window's (which Flask-Limiter merged in).
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    else:
        del response.headers["Retry-After"]
    return response
