"""RFC 8785 canonical JSON, fast for the records the ledger makes.

``rfc8785`` is pure Python and runs on every event written (its leaf bytes). For a value
made only of strings, integers within I-JSON's exact range, booleans, None, lists and
dicts with string keys, the standard library's C encoder with sorted keys, no spaces and
no ASCII escaping writes exactly what RFC 8785 specifies: the same literals, the same
string escapes (``\\"``, ``\\\\``, ``\\b \\f \\n \\r \\t``, other control characters as
lower-case ``\\u00xx``, everything else as itself, UTF-8 encoded), with one difference:
RFC 8785 sorts keys by their UTF-16 code units, Python by code points. The two orders
differ only between a character above U+FFFF (a surrogate pair, 0xD800-0xDBFF first) and
one in U+E000-U+FFFF, so a key holding any character above U+FFFF sends the whole value
to ``rfc8785``, as does anything else (a float, a tuple, a subclass, an integer out of
range, a string that is not valid UTF-8). tests/registry/ledger/test_canonical.py checks
the equality on every such shape with hypothesis.
"""

from __future__ import annotations

import json
from typing import Any

import rfc8785

_MAX_EXACT = 2**53 - 1  # I-JSON's exact integers; rfc8785 refuses the rest
_ENCODE = json.JSONEncoder(
    ensure_ascii=False, allow_nan=False, sort_keys=True, separators=(",", ":")
).encode


def dumps(value: Any) -> bytes:
    """The RFC 8785 canonical JSON of ``value``, byte for byte ``rfc8785.dumps(value)``."""
    if _plain(value):
        try:
            return _ENCODE(value).encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate: rfc8785 says what that is
            pass
    return rfc8785.dumps(value)


def _plain(value: Any) -> bool:
    """Whether ``value`` is made only of what the C encoder writes as RFC 8785 does."""
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return True
    if kind is int:
        return -_MAX_EXACT <= value <= _MAX_EXACT
    if kind is list:
        return all(_plain(item) for item in value)
    if kind is dict:
        for key, item in value.items():
            if type(key) is not str or not (key.isascii() or max(key) <= "\uffff"):
                return False
            if not _plain(item):
                return False
        return True
    return False
