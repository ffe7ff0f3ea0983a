"""Printable labels of a batch and its containers (the drawing is ``api.render.label``).

A label shows facts fixed when its identifier was issued (lot, initial quantity, dates, the
holder then) and the substance's names and GHS classification, which a regulator may
correct; it speaks the request's language (``?lang=``, else Accept-Language). Its ETag is a
hash of everything drawn, so a label is revalidated cheaply and fetched again only when its
drawing changed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager

from flask import Blueprint, Response, request
from flask_babel import get_locale
from marshmallow import fields, validate

from api.auth import current_principal, requires_roles
from api.bodies import load_query
from api.errors import ApiProblem
from api.render.label import LABEL_VERSION, LabelTooLarge, render, render_sheet
from api.render.label_layout import LabelContent, label_content
from api.schemas.common import StrictSchema, language
from registry.custody import batches
from registry.errors import NotFound, message
from registry.labels import issuing, printed
from registry.models import Batch, Identifier
from registry.signing import signer

bp = Blueprint("labels", __name__, url_prefix="/api/v1/batches")

MEDIA = {"png": "image/png", "svg": "image/svg+xml", "pdf": "application/pdf"}
MAX_AGE = 86400  # a day: a corrected classification reaches a printer within one


def _cached(body: bytes, fmt: str, etag: str) -> Response:
    response = Response(body, mimetype=MEDIA[fmt])
    response.set_etag(etag)
    # Authenticated, so private; revalidated with the ETag once a day.
    response.cache_control.private = True
    response.cache_control.max_age = MAX_AGE
    return response.make_conditional(request)


class LabelQuery(StrictSchema):
    container = fields.String(load_default=None, validate=validate.Length(1, 64))
    lang = language()


class SheetQuery(StrictSchema):
    lang = language()


@bp.get("/<batch_id>/label.png", defaults={"fmt": "png"})
@bp.get("/<batch_id>/label.svg", defaults={"fmt": "svg"})
@bp.get("/<batch_id>/label.pdf", defaults={"fmt": "pdf"})
@requires_roles("enterprise", "regulator")
def label(batch_id: str, fmt: str):
    container = load_query(LabelQuery)["container"]
    # One indexed read for everything drawn, so the ETag (and a 304) costs no ORM loading;
    # a drawing already made comes from the render cache.
    facts = printed.label_facts(batch_id, container, current_principal())
    content, etag = _words_and_etag(fmt, facts, str(get_locale()))
    if request.if_none_match.contains(etag):
        return _cached(b"", fmt, etag)
    with _printable():
        body = render(facts.identifier.token, fmt, content, signer().url(""))
    return _cached(body, fmt, etag)


@bp.get("/<batch_id>/labels.svg", defaults={"fmt": "svg"})
@bp.get("/<batch_id>/labels.pdf", defaults={"fmt": "pdf"})
@requires_roles("enterprise", "regulator")
def label_sheet(batch_id: str, fmt: str):
    """Every container label of a batch on printable sheets: SVG two across, or PDF on A4
    pages of eight."""
    load_query(SheetQuery)
    batch = batches.visible_batch(batch_id, current_principal())
    identifiers = [i for i in batch.identifiers if i.container_serial is not None]
    if not identifiers:
        raise NotFound(message("Batch {batch} has no containers.", batch=batch.id))
    labels = tuple((i.token, _content(batch, i)) for i in identifiers)
    etag = _etag(f"sheet.{fmt}", *(part for label in labels for part in label))
    if request.if_none_match.contains(etag):
        return _cached(b"", fmt, etag)
    with _printable():
        body = render_sheet(fmt, labels, signer().url(""))
    return _cached(body, fmt, etag)


# A label's words and ETag by the drawing's version, the format, the language and what was
# read for it: asked for again (a printer, a revalidation), a label costs its one read and
# a lookup here, not ten translations and a hash. Nothing else goes into them (the
# catalogues and GHS tables are fixed for the process), so an entry is never stale: a
# corrected classification or name is other facts, so another key.
_WORDS_KEPT = 4096
_words: dict[tuple[str, str, str, str], tuple[LabelContent, str]] = {}


def _words_and_etag(fmt: str, facts: printed.LabelFacts, locale: str) -> tuple[LabelContent, str]:
    key = (LABEL_VERSION, fmt, locale, repr(facts))
    found = _words.get(key)
    if found is None:
        content = label_content(facts.batch, facts.identifier, facts.holder, locale)
        found = (content, _etag(fmt, facts.identifier.token, content))
        if len(_words) >= _WORDS_KEPT:
            _words.clear()  # rarely reached; simpler than an LRU, and a miss is cheap
        _words[key] = found
    return found


def _content(batch: Batch, identifier: Identifier) -> LabelContent:
    return label_content(
        batch, identifier, issuing.holder_when_issued(identifier), str(get_locale())
    )


def _etag(*parts: str | LabelContent) -> str:
    # The drawing's version and every word drawn (in the label's language) are part of it: a
    # redrawn or corrected label is fetched again, never served stale.
    text = "\x1f".join(repr(part) for part in (LABEL_VERSION, *parts))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


@contextmanager
def _printable() -> Iterator[None]:
    try:
        yield
    except LabelTooLarge as exc:
        raise ApiProblem(422, "label_too_large", exc.args[0]) from None
