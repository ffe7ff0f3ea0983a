"""Words shown to people for the registry's machine values (batch statuses, link kinds).

The JSON answers keep the machine value; pages and drawings say these, in the reader's
language. A value without a word here is shown as it is.
"""

from __future__ import annotations

from flask_babel import lazy_gettext

BATCH_STATUS_WORDS = {
    "active": lazy_gettext("Active"),
    "in_transit": lazy_gettext("In transit"),
    "depleted": lazy_gettext("Depleted"),
    "consumed": lazy_gettext("Consumed"),
    "disposed": lazy_gettext("Disposed of"),
    "exported": lazy_gettext("Exported"),
    "lost": lazy_gettext("Lost"),
    "stolen": lazy_gettext("Stolen"),
    "spilled": lazy_gettext("Spilled"),
    "recalled": lazy_gettext("Recalled"),
    "suspended": lazy_gettext("Suspended"),
    "rejected": lazy_gettext("Rejected"),
}

LINK_KIND_WORDS = {
    "split": lazy_gettext("split"),
    "transfer": lazy_gettext("transfer"),
    "transformation": lazy_gettext("transformation"),
}


def status_word(status: str) -> str:
    return str(BATCH_STATUS_WORDS.get(status, status))


def link_kind_word(kind: str) -> str:
    return str(LINK_KIND_WORDS.get(kind, kind))
