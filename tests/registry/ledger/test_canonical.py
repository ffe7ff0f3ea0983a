"""registry.ledger.canonical.dumps is rfc8785.dumps, byte for byte, on every record shape:
the fast path where the C encoder agrees with RFC 8785, rfc8785 itself for the rest."""

from __future__ import annotations

import rfc8785
from hypothesis import example, given, settings
from hypothesis import strategies as st

from registry.ledger import canonical

# Characters from every region the two key orders and the string escapes care about:
# control characters, quotes and backslashes, ASCII, the BMP below and above the surrogates,
# the private use area (U+E000-U+FFFF), lone surrogates, and beyond U+FFFF.
_REGIONS = st.one_of(
    st.characters(min_codepoint=0, max_codepoint=0x7F),
    st.sampled_from('"\\/\b\f\n\r\t\x00\x1f\x7f\u2028\u2029'),
    st.characters(min_codepoint=0x80, max_codepoint=0xD7FF),
    st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF, categories=["Cs"]),
    st.characters(min_codepoint=0xE000, max_codepoint=0xFFFF),
    st.characters(min_codepoint=0x10000, max_codepoint=0x10FFFF),
)
_TEXT = st.text(_REGIONS, max_size=12)
_PLAIN_TEXT = st.text(_REGIONS.filter(lambda c: not 0xD800 <= ord(c) <= 0xDFFF), max_size=12)
_INTEGERS = st.one_of(
    st.integers(-(2**53) + 1, 2**53 - 1),
    st.sampled_from([2**53, -(2**53), 2**53 - 1, -(2**53) + 1, 10**30]),
)
_SCALARS = st.one_of(st.none(), st.booleans(), _INTEGERS, _TEXT)


def _values(scalars, keys):
    return st.recursive(
        scalars,
        lambda inner: st.one_of(
            st.lists(inner, max_size=5), st.dictionaries(keys, inner, max_size=6)
        ),
        max_leaves=30,
    )


def _same(value) -> None:
    try:
        expected = rfc8785.dumps(value)
    except Exception as exc:  # whatever rfc8785 refuses is refused the same way
        try:
            canonical.dumps(value)
        except type(exc):
            return
        raise AssertionError(f"rfc8785 refused {value!r} ({exc!r}), the fast path did not") from exc
    assert canonical.dumps(value) == expected


@settings(max_examples=1500, deadline=None)
@given(_values(_SCALARS, _TEXT))
@example({"\ue000": 1, "\U0001f600": 2})  # the two key orders differ here
@example({"a": [1, {"b": None, "a": True}], "": '\x00\x1f\x7f"\\'})
def test_records_of_strings_integers_lists_dicts_bools_and_none(value) -> None:
    _same(value)


@settings(max_examples=500, deadline=None)
@given(_values(_SCALARS, _PLAIN_TEXT))
def test_records_whose_keys_are_valid_utf8(value) -> None:
    _same(value)


@settings(max_examples=300, deadline=None)
@given(
    _values(
        st.one_of(_SCALARS, st.floats(allow_nan=True), st.tuples(_INTEGERS)),
        st.one_of(_TEXT, st.integers(0, 9)),
    )
)
def test_anything_else_is_rfc8785s_own_answer(value) -> None:
    _same(value)


def test_an_event_record_takes_the_fast_path() -> None:
    record = {
        "id": "01J",
        "ledger_index": 7,
        "actor": {"credential_id": None, "role": "enterprise"},
        "quantity": {"value": "1000000", "unit": "g"},
        "documents": [{"type": "invoice", "number": "Số 1"}],
        "flagged": False,
    }
    assert canonical._plain(record)
    assert canonical.dumps(record) == rfc8785.dumps(record)
