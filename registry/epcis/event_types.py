"""Which EPCIS event each registry event type becomes, and the way back for queries.

:data:`MAPPING` says, for each registry event type, which EPCIS event it becomes, with which
action, CBV 2.0 business step and disposition, and the reason for each choice. The filter
helpers (:func:`types_for_event_type`, :func:`types_for_biz_step`,
:func:`types_for_disposition`) read the same table backwards, so that EPCIS query parameters
(``eventType``, ``EQ_bizStep``, ``EQ_disposition``) become registry event types.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from registry.epcis import cbv
from registry.models import Event

OBJECT_EVENT = "ObjectEvent"
TRANSFORMATION_EVENT = "TransformationEvent"

Action = Literal["ADD", "OBSERVE", "DELETE"]

# How full URIs and compact IRIs of the EPCIS vocabulary's event types begin.
_EVENT_TYPE_FORMS = ("https://ref.gs1.org/epcis/", "epcis:")


@dataclass(frozen=True)
class EventMapping:
    """What one registry event type becomes in EPCIS.

    ``disposition`` is the CBV disposition of the quantity the event names after the
    event, or None where the event says nothing about it. ``disposition_by`` picks the
    disposition from a field of the event's details instead (``(key, {value: disposition})``).
    ``persistent`` is a ``persistentDisposition`` (``{"set": (...)}`` or ``{"unset": (...)}``).
    ``at_location`` is False when the quantity is no longer at the facility after the event
    (in transit, gone, out of custody): the event then has a readPoint but no bizLocation.
    """

    epcis_type: str
    action: Action | None
    biz_step: str
    disposition: str | None = None
    disposition_by: tuple[str, Mapping[str, str]] | None = None
    persistent: Mapping[str, tuple[str, ...]] | None = None
    at_location: bool = True

    def disposition_for(self, details: Mapping[str, Any]) -> str | None:
        if self.disposition_by is not None:
            key, choices = self.disposition_by
            return choices.get(str(details.get(key)), self.disposition)
        return self.disposition

    @property
    def dispositions(self) -> frozenset[str]:
        """Every disposition an event of this type may carry."""
        found = set(self.disposition_by[1].values()) if self.disposition_by else set()
        return frozenset(found | ({self.disposition} if self.disposition else set()))


def _object(action: Action, biz_step: str, disposition: str | None, **kw: Any) -> EventMapping:
    return EventMapping(OBJECT_EVENT, action, biz_step, disposition, **kw)


def _transformation(biz_step: str, disposition: str) -> EventMapping:
    return EventMapping(TRANSFORMATION_EVENT, None, biz_step, disposition)


MAPPING: dict[str, EventMapping] = {
    # A new batch is a new class-level identifier: CBV 2.0 "commissioning" associates a
    # class-level identifier not used before with objects (creating_class_instance would
    # be another increment of an existing class). Imports and transformation outputs are
    # registered the same way: the registry commissions their identity.
    "registered": _object("ADD", "commissioning", "active"),
    # Signed labels written for a batch that already exists. "encoding" is the CBV step for
    # writing identifiers to labels; no disposition ("encoded" would mean not yet
    # commissioned, and the batch may be active or in transit).
    "identifiers_issued": _object("OBSERVE", "encoding", None),
    # A parent divided into child batches, each its own lot portion in its own containers.
    "split": _transformation("repackaging", "active"),
    # A child of a split, and (below) the in-transit batch of a shipment: new identifiers.
    "created": _object("ADD", "commissioning", "active"),
    "shipped": _object("OBSERVE", "shipping", "in_transit", at_location=False),
    # The in-transit batch comes into being with the shipped quantity; "commissioning" and
    # not "shipping", so that EQ_bizStep=shipping finds each shipment once.
    "dispatched": _object("ADD", "commissioning", "in_transit", at_location=False),
    "received": _object("OBSERVE", "receiving", "active"),
    # A rejected shipment: the sender takes the goods back into its stock, so "receiving"
    # (at the sender's facility), and "returned" says why (void_shipping would claim the
    # goods never left).
    "returned": _object("OBSERVE", "receiving", "returned"),
    # CBV has no step for using a substance up in one's own process: "other", and DELETE
    # because that quantity of the lot no longer exists; "inactive": out of the supply chain.
    "consumed": _object("DELETE", "other", "inactive", at_location=False),
    "disposed": _object("DELETE", "destroying", "destroyed", at_location=False),
    # The quantity leaves the country (and the registry): it is shipped, still exists.
    "exported": _object("OBSERVE", "shipping", "in_transit", at_location=False),
    # A loss, theft or spill, reported by the holder. CBV has neither a step for it nor a
    # "lost" disposition: a loss is "unknown" (where it is), a spilled quantity "destroyed".
    "incident": _object(
        "OBSERVE",
        "other",
        "unknown",
        disposition_by=("kind", {"theft": "stolen", "loss": "unknown", "spill": "destroyed"}),
        at_location=False,
    ),
    # Recall and suspension segregate goods for review: "holding". A suspension is undone
    # by a release, so it also sets a persistent disposition that the release unsets; a
    # release restores whatever status came before (active, in transit or recalled), which
    # the event does not record, so it asserts no disposition of its own.
    "recalled": _object("OBSERVE", "holding", "recalled"),
    "suspended": _object(
        "OBSERVE",
        "holding",
        "non_sellable_other",
        persistent={"set": ("non_sellable_other",)},
    ),
    "released": _object("OBSERVE", "holding", None, persistent={"unset": ("non_sellable_other",)}),
    # CBV 2.0's conformance dispositions; a discrepancy is a quantity that does not match.
    "inspected": _object(
        "OBSERVE",
        "inspecting",
        None,
        disposition_by=(
            "result",
            {"pass": "conformant", "fail": "non_conformant", "discrepancy": "mismatch_quantity"},
        ),
    ),
    # A stock count for the regulator's accounts: "stock_taking" (cycle_counting is for
    # counts with other purposes, such as replenishment).
    "adjusted": _object("OBSERVE", "stock_taking", None),
    # One event per input of a transformation, linked by transformationID; "commissioning"
    # as in GS1's TransformationEvent examples, since the output is newly commissioned.
    "transformed": _transformation("commissioning", "active"),
}


# --- EPCIS query parameters -> registry event types -------------------------------------


def types_for_event_type(name: str) -> set[str]:
    """Registry event types that become EPCIS events of type ``name`` (``eventType``)."""
    short = cbv.short_name(name.strip(), _EVENT_TYPE_FORMS)
    return {t for t, m in MAPPING.items() if m.epcis_type == short}


def types_for_biz_step(step: str) -> set[str]:
    """Registry event types whose EPCIS events have business step ``step`` (``EQ_bizStep``).

    ``step`` is a CBV short name (``shipping``) or URI (``https://ref.gs1.org/cbv/BizStep-
    shipping``, ``cbv:BizStep-shipping``, ``urn:epcglobal:cbv:bizstep:shipping``).
    """
    short = cbv.BIZ_STEP.short(step.strip())
    return {t for t, m in MAPPING.items() if m.biz_step == short}


def types_for_disposition(disposition: str) -> set[str]:
    """Registry event types whose EPCIS events may have ``disposition`` (``EQ_disposition``).

    For incidents and inspections the disposition depends on the event's details (the kind
    of incident, the inspection's result): filter the events of those types further with
    :func:`disposition_of`.
    """
    short = short_disposition(disposition)
    return {t for t, m in MAPPING.items() if short in m.dispositions}


def short_disposition(disposition: str) -> str | None:
    """A disposition's CBV short name, from a short name, a URI or a CURIE."""
    return cbv.DISPOSITION.short(disposition.strip())


def disposition_of(event: Event) -> str | None:
    """The CBV disposition (short name) that ``event``'s EPCIS event carries, if any."""
    return MAPPING[event.type].disposition_for(event.details or {})
