"""Printable labels of a batch and its containers (the drawing is ``api.render.label``).

A label shows only facts fixed when its identifier was issued (substance, lot, initial
quantity, the holder then), so it never changes and is served with long-lived caching.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager

from flask import Blueprint, Response, request
from marshmallow import fields, validate

from api.auth import current_principal, requires_roles
from api.bodies import load_query
from api.errors import ApiProblem
from api.render.label import LABEL_VERSION, LabelTooLarge, label_lines, render, sheet, svg_label
from api.schemas.common import StrictSchema
from registry.custody import batches
from registry.errors import NotFound
from registry.labels import issuing
from registry.models import Batch, Identifier
from registry.signing import signer

bp = Blueprint("labels", __name__, url_prefix="/api/v1/batches")

MEDIA = {"png": "image/png", "svg": "image/svg+xml"}


def _identifier(batch: Batch, container: str | None) -> Identifier:
    for identifier in batch.identifiers:
        if identifier.container_serial == container:
            return identifier
    raise NotFound(
        f"Batch {batch.id} has no container {container}." if container else "No label yet."
    )


def _cached(body: bytes, fmt: str, etag: str) -> Response:
    response = Response(body, mimetype=MEDIA[fmt])
    response.set_etag(etag)
    # Authenticated, so private; the content never changes, so cache it for a year.
    response.cache_control.private = True
    response.cache_control.max_age = 31536000
    response.cache_control.immutable = True
    return response.make_conditional(request)


class LabelQuery(StrictSchema):
    container = fields.String(load_default=None, validate=validate.Length(1, 64))


@bp.get("/<batch_id>/label.png", defaults={"fmt": "png"})
@bp.get("/<batch_id>/label.svg", defaults={"fmt": "svg"})
@requires_roles("enterprise", "regulator")
def label(batch_id: str, fmt: str):
    container = load_query(LabelQuery())["container"]
    batch = batches.visible_batch(batch_id, current_principal())
    identifier = _identifier(batch, container)
    etag = _etag(fmt, identifier.token)
    if request.if_none_match.contains(etag):
        return _cached(b"", fmt, etag)
    holder = issuing.holder_when_issued(identifier)
    with _printable():
        body = render(
            identifier.token, fmt, label_lines(batch, identifier, holder), signer().url("")
        )
    return _cached(body, fmt, etag)


@bp.get("/<batch_id>/labels.svg")
@requires_roles("enterprise", "regulator")
def label_sheet(batch_id: str):
    """Every container label of a batch on one printable sheet (SVG, three across)."""
    batch = batches.visible_batch(batch_id, current_principal())
    identifiers = [i for i in batch.identifiers if i.container_serial is not None]
    if not identifiers:
        raise NotFound(f"Batch {batch.id} has no containers.")
    etag = _etag("sheet", *(i.token for i in identifiers))
    if request.if_none_match.contains(etag):
        return _cached(b"", "svg", etag)
    prefix = signer().url("")
    with _printable():
        labels = [
            svg_label(i.token, label_lines(batch, i, issuing.holder_when_issued(i)), prefix)
            for i in identifiers
        ]
    return _cached(sheet(labels), "svg", etag)


def _etag(*parts: str) -> str:
    # The drawing's version is part of it: a redrawn label is fetched again, not served stale.
    return hashlib.sha256(":".join((LABEL_VERSION, *parts)).encode()).hexdigest()[:32]


@contextmanager
def _printable() -> Iterator[None]:
    try:
        yield
    except LabelTooLarge as exc:
        raise ApiProblem(422, "label_too_large", str(exc)) from None
