"""Words shown to people for the registry's machine values (batch statuses, link kinds).

The JSON answers keep the machine value; pages and drawings say these, in the reader's
language. A value without a word here is shown as it is. The words are lower case, like the
values: a page that wants capitals says so in its style sheet.
"""

from __future__ import annotations

from flask_babel import lazy_gettext

BATCH_STATUS_WORDS = {
    "active": lazy_gettext("active"),
    "in_transit": lazy_gettext("in transit"),
    "depleted": lazy_gettext("depleted"),
    "consumed": lazy_gettext("consumed"),
    "disposed": lazy_gettext("disposed of"),
    "exported": lazy_gettext("exported"),
    "lost": lazy_gettext("lost"),
    "stolen": lazy_gettext("stolen"),
    "spilled": lazy_gettext("spilled"),
    "recalled": lazy_gettext("recalled"),
    "suspended": lazy_gettext("suspended"),
    "rejected": lazy_gettext("rejected"),
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
