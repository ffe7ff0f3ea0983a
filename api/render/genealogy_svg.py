"""A batch's genealogy as a standalone SVG 1.1 picture, drawn on the server for regulators.

Where boxes and links go is ``genealogy_layout``; this module draws them (a header with the
legend, arrow markers, links with their labels, boxes with their lines of text), which takes
some 400 lines of plain string building. The same input always gives the same document,
byte for byte.

Lot numbers, organisation and substance names are user input. Every piece of text goes
through ``xml.sax.saxutils`` escaping after characters XML cannot carry (and bidi overrides,
which could reorder what a regulator reads) are removed. The document holds only shapes,
text, ``<title>`` tooltips and arrow markers referenced by local fragment: no script, no
event handler attributes, no external references, no ``foreignObject``.

Every word it draws (legend, headings, box and link lines, tooltips) is in the language it is
given (``locale``, from ``?lang=`` or ``Accept-Language`` in the route); event types, lot
numbers, ids and units are drawn as they are.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from datetime import datetime
from xml.sax.saxutils import escape, quoteattr

from flask_babel import force_locale, get_locale, gettext, lazy_gettext, ngettext

from api.i18n import SOURCE_LOCALE
from api.render.genealogy_layout import (
    BAND_H,
    BOX_PAD,
    LINE_H,
    Layout,
    utc,
)
from api.words import link_kind_word, status_word
from registry.custody.history import History
from registry.custody.quantities import Amount
from registry.models import Batch, BatchLink, Event, Organization, Substance

# Statuses a regulator should notice at a glance.
FLAGGED_STATUSES = frozenset({"recalled", "suspended", "lost", "stolen"})

KIND_COLOURS = {"split": "#1565c0", "transfer": "#2e7d32", "transformation": "#6a1b9a"}
OTHER_KIND_COLOUR = "#455a64"
FLAGGED_COLOUR = "#d32f2f"
REQUESTED_FILL = "#fff8e1"
REQUESTED_BAND = "#ffca28"
BOX_FILL = "#ffffff"
BOX_BAND = "#e3e8ec"
BOX_STROKE = "#546e7a"
INK = "#212121"
MUTED = "#546e7a"
FONT = "DejaVu Sans, Liberation Sans, Arial, sans-serif"

MARGIN = 24
STUB = 230
FONT_SIZE = 12
LABEL_SIZE = 11
TITLE_SIZE = 18

_NOT_XML = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff\u202a-\u202e\u2066-\u2069]"
)


def flagged_event_children(history: History) -> set[str]:
    """Batches with at least one flagged event in the history."""
    return {e.batch_id for e in history.events if e.flagged}


def flagged_link_ids(history: History) -> set[tuple[str, str]]:
    """(parent_id, child_id) of links whose child has a flagged event: a receipt with a
    discrepancy, a loss, a suspension, an adjustment..."""
    children = flagged_event_children(history)
    return {(link.parent_id, link.child_id) for link in history.links if link.child_id in children}


def render_history_svg(
    history: History,
    organizations: Mapping[str, Organization],
    flagged_links: Collection[tuple[str, str]] | None = None,
    *,
    locale: str = SOURCE_LOCALE,
) -> str:
    """The genealogy in ``history`` as an SVG document (a ``str``; serve it as UTF-8).

    ``organizations`` maps organisation id → Organization for the batches' holders (one
    query in the route); a holder missing from it is drawn as unknown. ``flagged_links``
    are the (parent_id, child_id) links drawn as flagged; by default those whose child has
    a flagged event in ``history.events`` (``flagged_link_ids``). The words are in ``locale``.
    """
    with force_locale(locale):
        return _render(history, organizations, flagged_links)


def _render(
    history: History,
    organizations: Mapping[str, Organization],
    flagged_links: Collection[tuple[str, str]] | None,
) -> str:
    batches = {b.id: b for b in history.batches}
    batches.setdefault(history.batch.id, history.batch)
    links = sorted(
        (link for link in history.links if link.parent_id in batches and link.child_id in batches),
        key=lambda link: (link.parent_id, link.child_id),
    )
    flagged = set(flagged_link_ids(history) if flagged_links is None else flagged_links)
    events_of: dict[str, list[Event]] = defaultdict(list)
    for event in sorted(history.events, key=lambda e: (e.ledger_index, e.id)):
        events_of[event.batch_id].append(event)

    layout = Layout(batches, links, events_of)
    width = max(
        2 * MARGIN + layout.width,
        2 * MARGIN + _legend_width(),
    )
    header_h = _header_height()
    height = header_h + layout.height + MARGIN

    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>\n',
        f'<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" font-family="{FONT}" '
        f'font-size="{FONT_SIZE}">\n',
        f"<title>{_esc(gettext('Genealogy of batch %(id)s', id=history.batch.id))}</title>\n",
        _defs(),
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#fafafa"/>\n',
    ]
    parts += _header(history, len(batches), len(links), width)
    parts.append(f'<g transform="translate({MARGIN},{header_h})">\n')
    # Links under boxes; flagged links last so they are never hidden by another link.
    for link in sorted(links, key=lambda k: ((k.parent_id, k.child_id) in flagged,)):
        parts.append(
            _link(link, layout, batches, events_of, (link.parent_id, link.child_id) in flagged)
        )
    flagged_children = flagged_event_children(history)
    for batch_id in layout.batch_order:
        batch = batches[batch_id]
        parts.append(
            _box(
                batch,
                layout.boxes[batch_id],
                organizations.get(batch.holder_organization_id),
                requested=batch_id == history.batch.id,
                flagged=batch.status in FLAGGED_STATUSES or batch_id in flagged_children,
                flagged_types=_unique(e.type for e in events_of[batch_id] if e.flagged),
            )
        )
    parts.append("</g>\n</svg>\n")
    return "".join(parts)


# --- drawing -----------------------------------------------------------------------------

_LEGEND = [
    ("line", KIND_COLOURS["split"], lazy_gettext("split: part of a batch kept by the same holder")),
    ("line", KIND_COLOURS["transfer"], lazy_gettext("transfer: shipped to another organisation")),
    (
        "line",
        KIND_COLOURS["transformation"],
        lazy_gettext("transformation: an input of a new product"),
    ),
    ("flagged", FLAGGED_COLOUR, lazy_gettext("flagged link: the child batch has a flagged event")),
    ("", "", lazy_gettext("(e.g. a receipt with a discrepancy, a loss, a suspension)")),
    ("requested", REQUESTED_BAND, lazy_gettext("the batch this history was asked for")),
    (
        "flagged-box",
        FLAGGED_COLOUR,
        lazy_gettext("flagged batch: recalled, suspended, lost, stolen,"),
    ),
    ("", "", lazy_gettext("or with flagged events")),
]
_LEGEND_ROW = 19
_LEGEND_TEXT_X = 62
_LEGEND_CHAR_W = 7  # an estimate at FONT_SIZE, as _fit's


def _legend_width() -> int:
    """Wide enough for the longest legend line in this language (at least 470)."""
    longest = max(len(str(label)) for _, _, label in _LEGEND)
    return max(470, _LEGEND_TEXT_X + longest * _LEGEND_CHAR_W)


def _header_height() -> int:
    return 70 + len(_LEGEND) * _LEGEND_ROW + 24


def _header(history: History, batch_count: int, link_count: int, width: int) -> list[str]:
    batch = history.batch
    room = (width - 2 * MARGIN) // int(TITLE_SIZE * 0.62)
    title = _fit(gettext("Genealogy of lot %(lot)s", lot=_clean(batch.lot_number)), room)
    summary = " · ".join(
        [
            gettext("Batch %(id)s", id=batch.id),
            ngettext("%(num)d batch", "%(num)d batches", batch_count)
            + ", "
            + ngettext("%(num)d link", "%(num)d links", link_count),
            gettext("times in UTC"),
        ]
    )
    out = [
        _text(MARGIN, 32, title, size=TITLE_SIZE, weight="bold"),
        _text(MARGIN, 52, _fit(summary, (width - 2 * MARGIN) // 7), fill=MUTED),
    ]
    y = 70
    for kind, colour, label in _LEGEND:
        mid = y + _LEGEND_ROW // 2
        if kind in ("line", "flagged"):
            dash = ' stroke-dasharray="8 4"' if kind == "flagged" else ""
            marker = "flagged" if kind == "flagged" else _marker_of(colour)
            width_ = 2.5 if kind == "flagged" else 1.6
            out.append(
                f'<path d="M{MARGIN} {mid} H{MARGIN + 46}" stroke="{colour}" '
                f'stroke-width="{width_}" fill="none"{dash} marker-end="url(#arrow-{marker})"/>\n'
            )
        elif kind == "requested":
            out.append(
                f'<rect x="{MARGIN}" y="{mid - 7}" width="50" height="14" fill="{REQUESTED_FILL}"'
                f' stroke="{BOX_STROKE}"/><rect x="{MARGIN}" y="{mid - 7}" width="50" height="5"'
                f' fill="{colour}"/>\n'
            )
        elif kind == "flagged-box":
            out.append(
                f'<rect x="{MARGIN}" y="{mid - 7}" width="50" height="14" fill="{BOX_FILL}" '
                f'stroke="{colour}" stroke-width="3"/>\n'
            )
        out.append(_text(MARGIN + _LEGEND_TEXT_X, mid + 4, str(label)))
        y += _LEGEND_ROW
    return out


def _defs() -> str:
    markers = [(name, colour) for name, colour in KIND_COLOURS.items()]
    markers += [("other", OTHER_KIND_COLOUR), ("flagged", FLAGGED_COLOUR)]
    return (
        "<defs>"
        + "".join(
            f'<marker id="arrow-{name}" viewBox="0 0 10 10" refX="10" refY="5" '
            f'markerWidth="10" markerHeight="10" markerUnits="userSpaceOnUse" orient="auto">'
            f'<path d="M0 0 L10 5 L0 10 z" fill="{colour}"/></marker>'
            for name, colour in markers
        )
        + "</defs>\n"
    )


def _marker_of(colour: str) -> str:
    for name, known in KIND_COLOURS.items():
        if known == colour:
            return name
    return "other"


def _link(
    link: BatchLink,
    layout: Layout,
    batches: Mapping[str, Batch],
    events_of: Mapping[str, list[Event]],
    flagged: bool,
) -> str:
    chain = layout.chains[(link.parent_id, link.child_id)]
    parent, child = batches[link.parent_id], batches[link.child_id]
    px, _, pw, _ = layout.boxes[link.parent_id]
    cx = layout.boxes[link.child_id][0]
    x, y = px + pw, layout.out_y[(chain[0], chain[1])]
    d = [f"M{x} {y}"]
    for at, node in enumerate(chain[1:], start=1):
        nx, _, nw, _ = layout.boxes[node]
        ny = layout.in_y[(chain[at - 1], node)]
        if nx - STUB > x:
            # A curve across the gap, then a straight stub into the box (or, for a link
            # passing through a layer, straight through that layer's column).
            bend = (x + nx - STUB) // 2
            # The last one ends at the box's edge, where the arrowhead shows.
            end = nx if at == len(chain) - 1 else nx + nw
            d.append(f"C{bend} {y} {bend} {ny} {nx - STUB} {ny} H{end}")
        else:  # only for a link drawn backwards: loop round rather than fail
            d.append(f"C{x + 80} {y} {nx - 80} {ny} {nx} {ny}")
        x, y = nx + nw, ny
        if at < len(chain) - 1:
            y = layout.out_y[(node, chain[at + 1])]

    colour = FLAGGED_COLOUR if flagged else KIND_COLOURS.get(link.kind, OTHER_KIND_COLOUR)
    marker = "flagged" if flagged else _marker_of(colour)
    style = ' stroke-width="2.5" stroke-dasharray="8 4"' if flagged else ' stroke-width="1.6"'
    amount = _amount(parent.dimension, link.quantity_micro, parent.unit)
    when, note = _link_date_and_note(link, child, events_of)
    kind = link_kind_word(_clean(link.kind))
    lines = [f"{'⚠ ' if flagged else ''}{kind} · {amount}", when]
    if flagged:
        lines.append(note)
    label_x = max(cx - STUB + 6, px + pw + 6)
    end_y = layout.in_y[(chain[-2], chain[-1])]
    title = gettext(
        "%(kind)s of %(amount)s from lot %(parent_lot)s (%(parent_id)s) to lot %(child_lot)s "
        "(%(child_id)s); %(when)s",
        kind=kind,
        amount=amount,
        parent_lot=_clean(parent.lot_number),
        parent_id=parent.id,
        child_lot=_clean(child.lot_number),
        child_id=child.id,
        when=when,
    ) + (gettext("; FLAGGED: %(note)s", note=note) if flagged else "")
    room = (STUB - 20) // int(LABEL_SIZE * 0.62)
    label = [
        _text(label_x, end_y - 6, _fit(lines[0], room), size=LABEL_SIZE, fill=colour, weight="bold")
    ]
    label += [
        _text(
            label_x,
            end_y + 4 + (LABEL_SIZE + 2) * i,
            _fit(text, room),
            size=LABEL_SIZE,
            fill=colour,
        )
        for i, text in enumerate(lines[1:], start=1)
    ]
    classes = "link flagged" if flagged else "link"
    return (
        f"<g class={quoteattr(classes)} id={quoteattr(f'link-{parent.id}-{child.id}')}>"
        f"<title>{_esc(title)}</title>"
        f'<path d="{" ".join(d)}" stroke="{colour}" fill="none"{style} '
        f'marker-end="url(#arrow-{marker})"/>' + "".join(label) + "</g>\n"
    )


def _link_date_and_note(
    link: BatchLink, child: Batch, events_of: Mapping[str, list[Event]]
) -> tuple[str, str]:
    """When the link happened (for a transfer, its receipt if any) and why it is flagged."""
    found = events_of.get(child.id, [])
    received = next((e for e in found if e.type == "received"), None)
    if link.kind == "transfer" and received is not None:
        when = gettext("received %(when)s", when=_when(received.recorded_at))
    elif link.kind == "transfer":
        when = gettext("shipped %(when)s", when=_when(child.created_at))
    else:
        when = _when(child.created_at)
    note = gettext(
        "flagged events: %(types)s", types=", ".join(_unique(e.type for e in found if e.flagged))
    )
    if received is not None and received.flagged:
        discrepancy = (received.details or {}).get("discrepancy")
        if isinstance(discrepancy, dict) and {"value", "unit"} <= set(discrepancy):
            amount = f"{discrepancy['value']} {discrepancy['unit']}"
            note = gettext("receipt discrepancy %(amount)s", amount=amount)
        else:
            note = gettext("receipt discrepancy")
    return when, _clean(note)


def _box(
    batch: Batch,
    place: tuple[int, int, int, int],
    holder: Organization | None,
    *,
    requested: bool,
    flagged: bool,
    flagged_types: list[str],
) -> str:
    x, y, w, h = place
    room = (w - 2 * BOX_PAD) // int(FONT_SIZE * 0.62)
    substance = (
        _clean(_substance_name(batch.substance))
        if batch.substance is not None
        else gettext("unknown")
    )
    cas = f" (CAS {_clean(batch.cas_rn)})" if batch.cas_rn else " " + gettext("(no CAS RN)")
    now = _amount(batch.dimension, batch.quantity_micro, batch.unit)
    initial = _amount(batch.dimension, batch.initial_quantity_micro, batch.unit)
    holder_name = (
        _clean(holder.name)
        if holder
        else gettext("unknown (%(id)s)", id=batch.holder_organization_id)
    )
    code = _clean(holder.enterprise_code) if holder else gettext("unknown")
    lines: list[tuple[str, str, str | None]] = [
        (_fit(substance, room - len(cas)) + cas, INK, None),
        (gettext("Quantity now: %(quantity)s", quantity=now), INK, "bold"),
        (gettext("Initial quantity: %(quantity)s", quantity=initial), INK, None),
        (
            gettext("Status: %(status)s", status=status_word(_clean(batch.status))),
            FLAGGED_COLOUR if batch.status in FLAGGED_STATUSES else INK,
            "bold",
        ),
        (gettext("Holder: %(name)s", name=holder_name), INK, None),
        (gettext("Enterprise code: %(code)s", code=code), MUTED, None),
        (gettext("Created: %(when)s", when=_when(batch.created_at)), MUTED, None),
        # Splits and shipments keep their parent's lot number: the id tells them apart.
        (gettext("Batch ID: %(id)s", id=batch.id), MUTED, None),
    ]
    if flagged_types:
        lines.append(
            (
                "⚠ " + gettext("Flagged: %(types)s", types=", ".join(flagged_types)),
                FLAGGED_COLOUR,
                "bold",
            )
        )
    fill, band = (REQUESTED_FILL, REQUESTED_BAND) if requested else (BOX_FILL, BOX_BAND)
    stroke = (
        f'stroke="{FLAGGED_COLOUR}" stroke-width="3"'
        if flagged
        else f'stroke="{BOX_STROKE}" stroke-width="{2 if requested else 1.2}"'
    )
    classes = " ".join(
        ["batch"] + (["requested"] if requested else []) + (["flagged"] if flagged else [])
    )
    lot = _clean(batch.lot_number)
    title = "\n".join(
        [gettext("Lot %(lot)s (batch %(id)s)", lot=lot, id=batch.id), f"{substance}{cas}"]
        + [text for text, _, _ in lines[1:]]
    )
    out = [
        f"<g class={quoteattr(classes)} id={quoteattr(f'batch-{batch.id}')}>",
        f"<title>{_esc(title)}</title>",
        f'<rect x="{x}" y="{y}" width="{w}" height="{h}" rx="6" fill="{fill}" {stroke}/>',
        f'<rect x="{x + 2}" y="{y + 2}" width="{w - 4}" height="{BAND_H - 2}" rx="4" '
        f'fill="{band}"/>',
        _text(
            x + BOX_PAD,
            y + 19,
            _fit(gettext("Lot %(lot)s", lot=lot), room - (13 if requested else 2)),
            size=13,
            weight="bold",
        ),
    ]
    if requested:
        out.append(
            _text(
                x + w - BOX_PAD, y + 18, gettext("REQUESTED"), size=10, weight="bold", anchor="end"
            )
        )
    for i, (text, colour, weight) in enumerate(lines):
        baseline = y + BAND_H + 15 + i * LINE_H
        out.append(_text(x + BOX_PAD, baseline, _fit(text, room), fill=colour, weight=weight))
    out.append("</g>\n")
    return "".join(out)


def _substance_name(substance: Substance) -> str:
    """The substance's name in the drawing's language, else its English name."""
    return (substance.names or {}).get(str(get_locale())) or substance.name


# --- text --------------------------------------------------------------------------------


def _text(
    x: int,
    y: int,
    text: str,
    *,
    size: int = FONT_SIZE,
    weight: str | None = None,
    fill: str = INK,
    anchor: str | None = None,
) -> str:
    extra = f' font-weight="{weight}"' if weight else ""
    extra += f' text-anchor="{anchor}"' if anchor else ""
    return f'<text x="{x}" y="{y}" font-size="{size}" fill="{fill}"{extra}>{_esc(text)}</text>\n'


def _clean(text: object) -> str:
    """What XML 1.0 can carry, without bidi overrides; tabs and newlines become spaces."""
    return _NOT_XML.sub("", str(text).replace("\t", " ").replace("\n", " ").replace("\r", " "))


def _esc(text: str) -> str:
    return escape(_clean_keep_newlines(text), {'"': "&quot;", "'": "&apos;"})


def _clean_keep_newlines(text: str) -> str:
    return "\n".join(_clean(part) for part in text.split("\n"))


def _fit(text: str, room: int) -> str:
    """At most ``room`` characters (an estimate of the width), ending in … when cut."""
    room = max(room, 4)
    return text if len(text) <= room else text[: room - 1].rstrip() + "…"


def _amount(dimension: str, micro: int, unit: str) -> str:
    try:
        value = Amount(dimension, micro).as_json(unit)
    except (KeyError, ValueError):
        value = Amount(dimension, micro).as_json()
    return f"{value['value']} {value['unit']}"


def _when(moment: datetime | None) -> str:
    return utc(moment).strftime("%Y-%m-%d %H:%M UTC") if moment else gettext("unknown date")


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(_clean(item) for item in items))
