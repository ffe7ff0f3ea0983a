"""Rate limits (Flask-Limiter): per credential, per client address, and on failed sign-ins.

Three limits hold for every route but the health and metrics probes:

- per credential: what one API key or bearer token may ask of the service;
- per client address: what one address may ask, whatever credentials it presents;
- failed authentications per address: only answers 401 count, so guessing keys or replaying
  stolen tokens from one address is cut off long before it can succeed, while that
  address's legitimate traffic is limited only by the first two.

The counters live in Redis when CHEMTRACE_REDIS_URL is set, so that limits hold across
gunicorn workers and servers; otherwise in each worker's memory. If Redis fails, requests
are served under per-worker memory limits rather than refused (the registry stays usable).
A refused request gets 429 problem+json with Retry-After.
"""

from __future__ import annotations

import hashlib

from flask import Flask, Response, request
from flask_limiter import ApplicationLimit, Limiter
from werkzeug.middleware.proxy_fix import ProxyFix

from api.errors import RETRY_AFTER_SECONDS

# Probes must answer even when a monitoring system polls them hard.
EXEMPT_ENDPOINTS = frozenset({"health.healthz", "health.readyz", "health.metrics"})


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


def _limiter(config: dict) -> Limiter:
    # Limits as strings, not callables: Flask-Limiter parses a string once, a callable's
    # answer on every request (a measurable share of a cheap request's time).
    return Limiter(
        key_func=client_address,
        application_limits=[
            ApplicationLimit(
                config["RATE_LIMIT_PER_CREDENTIAL"],
                key_function=credential_key,
                scope="credential",
                exempt_when=lambda: _exempt() or "Authorization" not in request.headers,
                error_message="Too many requests with this credential.",
            ),
            ApplicationLimit(
                config["RATE_LIMIT_PER_ADDRESS"],
                key_function=client_address,
                scope="address",
                exempt_when=_exempt,
                error_message="Too many requests from this address.",
            ),
            ApplicationLimit(
                config["RATE_LIMIT_FAILED_AUTH"],
                key_function=client_address,
                scope="failed-authentication",
                exempt_when=_exempt,
                deduct_when=lambda response: response.status_code == 401,
                error_message="Too many failed authentications from this address.",
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
    # Registered before the limiter's own hook, so it runs after it (Flask runs after_request
    # hooks in reverse): Flask-Limiter puts Retry-After on every answer, rounded down.
    app.after_request(_retry_after_only_when_refused)
    app.config.setdefault("RATELIMIT_STORAGE_URI", app.config["REDIS_URL"] or "memory://")
    app.config.setdefault("RATELIMIT_KEY_PREFIX", "chemtrace")
    # One limiter per app, not one per module: Flask-Limiter keeps its storage and switches
    # on the limiter object, and tests run several apps with different limits in one process.
    app.extensions["chemtrace_limiter"] = _limiter(app.config)
    app.extensions["chemtrace_limiter"].init_app(app)


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
