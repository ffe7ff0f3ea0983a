"""GS1 keys as canonical GS1 Digital Link URIs, for the CBV 2.0 event hash (section 8.9).

The event hash writes every GS1 key as a *constrained canonical* GS1 Digital Link URI, so a
document naming its objects with EPC URNs (``urn:epc:id:sgtin:...``, EPC Tag Data Standard)
hashes like the same document naming them with Digital Link URIs. :func:`to_digital_link`
does both halves:

- an EPC URN (pure identity ``id``, class ``class:lgtin``, or an ``idpat`` naming one class)
  is rebuilt as the GS1 key it encodes: the URN splits the key at the company prefix, so the
  indicator (or SSCC extension) digit moves back to the front and the check digit, which
  the URN leaves out, is computed again;
- a Digital Link URI is constrained: host ``id.gs1.org`` over https, numeric AIs instead of
  the short names (``gtin``, ``lot``, ``ser``...), no query string or fragment, GTIN padded
  to 14 digits, and only the primary key with the finest qualifier (CPV dropped, a serial
  makes the lot redundant).

Values are written in one spelling: the URN's escapes (TDS: ``%22 %25 %26 %2F %3C %3E %3F``,
and ``%23`` in CPIs) and any Digital Link percent-encoding are decoded, then every character
outside RFC 3986's unreserved set is percent-encoded with upper-case hex, as the GS1 Digital
Link grammar (URI syntax 1.2, ``XCHAR``/``YCHAR``) writes them: ``!`` is ``%21``, ``/`` is
``%2F``, ``'`` is ``%27`` (and ``"``, which the grammar lists bare but RFC 3986 bars from a
URI, is ``%22``, as in the URN).

Written by hand: no maintained Python package converts EPC URNs to Digital Link (the
reference event-hash generator's ``dl_normaliser`` is a script of per-scheme regular
expressions, and ``epcdltranslator`` is a one-off release of the same code); here the
schemes are a table (:data:`_SCHEMES`), the Digital Link grammar another
(:data:`_PRIMARY_KEYS`), and the rest needs the standard library only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote, unquote

CANONICAL_ORIGIN = "https://id.gs1.org/"

# One character of a value as it stands in a canonical URI (so that lengths count characters):
# GS1 AI encodable character set 82, and set 39 (the CPI, AI 8010).
_X = r"(?:[A-Za-z0-9._-]|%2[125-9A-CF]|%3[A-F])"  # set 82
_Y = r"(?:[0-9A-Z-]|%23|%2F)"  # set 39
# What an EPC URN component may carry literally (TDS); anything else is %-escaped.
_URN_COMPONENT = re.compile(r"(?:[A-Za-z0-9!'()*+,\-.:;=_]|%[0-9A-Fa-f]{2})+")
_DIGITS = re.compile(r"[0-9]+")


@dataclass(frozen=True)
class _Scheme:
    """How one EPC URN scheme lays out its GS1 key, and where the parts go in Digital Link."""

    parts: int  # dot-separated components after the scheme name
    key: str  # "indicator": first reference digit moves to the front, + check digit;
    #           "check": company prefix + reference + check digit; "text": both as they are
    digits: int  # company prefix + reference digits ("indicator" and "check" keys)
    path: str  # Digital Link path: {key}, {serial} (last part), {piece} and {total} (ITIP)


# EPC Tag Data Standard 2.x: the pure identity (id), EPC class (class) and pattern (idpat)
# URIs against the GS1 keys' element strings; idpat only where the pattern is one GS1 key
# (its last part "*"), as the reference event-hash generator reads them.
_SCHEMES: dict[tuple[str, str], _Scheme] = {
    ("id", "sgtin"): _Scheme(3, "indicator", 13, "01/{key}/21/{serial}"),
    ("id", "sscc"): _Scheme(2, "indicator", 17, "00/{key}"),
    ("id", "sgln"): _Scheme(3, "check", 12, "414/{key}/254/{serial}"),
    ("id", "grai"): _Scheme(3, "check", 12, "8003/0{key}{serial}"),
    ("id", "giai"): _Scheme(2, "text", 0, "8004/{key}"),
    ("id", "gsrn"): _Scheme(2, "check", 17, "8018/{key}"),
    ("id", "gsrnp"): _Scheme(2, "check", 17, "8017/{key}"),
    ("id", "gdti"): _Scheme(3, "check", 12, "253/{key}{serial}"),
    ("id", "sgcn"): _Scheme(3, "check", 12, "255/{key}{serial}"),
    ("id", "cpi"): _Scheme(3, "text", 0, "8010/{key}/8011/{serial}"),
    ("id", "ginc"): _Scheme(2, "text", 0, "401/{key}"),
    ("id", "gsin"): _Scheme(2, "check", 16, "402/{key}"),
    ("id", "itip"): _Scheme(5, "indicator", 13, "8006/{key}{piece}{total}/21/{serial}"),
    ("id", "upui"): _Scheme(3, "indicator", 13, "01/{key}/235/{serial}"),
    ("id", "pgln"): _Scheme(2, "check", 12, "417/{key}"),
    ("class", "lgtin"): _Scheme(3, "indicator", 13, "01/{key}/10/{serial}"),
    ("idpat", "sgtin"): _Scheme(3, "indicator", 13, "01/{key}"),
    ("idpat", "grai"): _Scheme(3, "check", 12, "8003/0{key}"),
    ("idpat", "gdti"): _Scheme(3, "check", 12, "253/{key}"),
    ("idpat", "sgcn"): _Scheme(3, "check", 12, "255/{key}"),
    ("idpat", "cpi"): _Scheme(3, "text", 0, "8010/{key}"),
    ("idpat", "itip"): _Scheme(5, "indicator", 13, "8006/{key}{piece}{total}"),
    ("idpat", "upui"): _Scheme(3, "indicator", 13, "01/{key}"),
}

# Digital Link (URI syntax 1.2 grammar): each primary key's value, and its qualifiers in order.
_PRIMARY_KEYS: dict[str, tuple[str, tuple[str, ...]]] = {
    "00": (r"\d{18}", ()),
    "01": (r"\d{14}", ("22", "10", "21", "235")),
    "253": (rf"\d{{13}}{_X}{{0,17}}", ()),
    "255": (r"\d{13}\d{0,12}", ()),
    "401": (rf"{_X}{{1,30}}", ()),
    "402": (r"\d{17}", ()),
    "414": (r"\d{13}", ("254",)),
    "417": (r"\d{13}", ()),
    "8003": (rf"\d{{14}}{_X}{{0,16}}", ()),
    "8004": (rf"{_X}{{1,30}}", ()),
    "8006": (r"\d{18}", ("22", "10", "21")),
    "8010": (rf"{_Y}{{1,30}}", ("8011",)),
    "8017": (r"\d{18}", ("8019",)),
    "8018": (r"\d{18}", ("8019",)),
}
_QUALIFIERS = {
    "10": rf"{_X}{{1,20}}",
    "21": rf"{_X}{{1,20}}",
    "22": rf"{_X}{{1,20}}",
    "235": rf"{_X}{{1,28}}",
    "254": rf"{_X}{{1,20}}",
    "8011": r"\d{1,12}",
    "8019": r"\d{1,10}",
}
_VALUES = {ai: re.compile(p) for ai, p in _QUALIFIERS.items()} | {
    ai: re.compile(p) for ai, (p, _) in _PRIMARY_KEYS.items()
}
_SHORT_NAMES = {
    "gtin": "01", "itip": "8006", "cpid": "8010", "gln": "414", "party": "417",
    "gsrnp": "8017", "gsrn": "8018", "gcn": "255", "sscc": "00", "gdti": "253",
    "ginc": "401", "gsin": "402", "grai": "8003", "giai": "8004", "cpv": "22", "lot": "10",
    "ser": "21", "cpsn": "8011", "glnx": "254", "srin": "8019",
}  # fmt: skip
_HTTP_URI = re.compile(r"^https?://[^/?#]+(/[^?#]*)?(?:\?[^#]*)?(?:#.*)?$", re.IGNORECASE)


def to_digital_link(uri: str) -> str | None:
    """The constrained canonical Digital Link URI of the GS1 key in ``uri``, else None.

    ``uri`` is an EPC URN or a Digital Link URI; anything else (a URI of the registry's own,
    a URN of another namespace, a malformed key) gives None, and is hashed as it stands.
    """
    if uri.startswith("urn:epc:"):
        return _from_epc_urn(uri)
    if uri[:8].lower().startswith(("http://", "https://")):
        return _constrain(uri)
    return None


def check_digit(digits: str) -> str:
    """The GS1 mod-10 check digit: weights 3, 1, 3... from the right."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits)))
    return str(-total % 10)


def encode_value(value: str) -> str:
    """An AI value percent-encoded as Digital Link writes it: all but RFC 3986 unreserved."""
    return quote(value, safe="")


def _decoded(component: str) -> str | None:
    # Only %XX escapes are decoded ("+" stays a plus); a stray "%" is malformed.
    if re.search(r"%(?![0-9A-Fa-f]{2})", component):
        return None
    return unquote(component, errors="strict")


def _recoded(component: str) -> str | None:
    try:
        decoded = _decoded(component)
    except UnicodeDecodeError:
        return None
    return None if decoded is None else encode_value(decoded)


def _from_epc_urn(uri: str) -> str | None:
    pieces = uri.split(":", 4)
    scheme = _SCHEMES.get((pieces[2], pieces[3])) if len(pieces) == 5 else None
    if scheme is None:
        return None
    # The last part (a serial) may itself hold dots; the first ones never do.
    parts = pieces[4].split(".", scheme.parts - 1)
    if len(parts) != scheme.parts or not all(_URN_COMPONENT.fullmatch(p) for p in parts[2:]):
        return None
    company, reference, *middle = parts[:-1] if scheme.parts > 2 else parts
    if not (6 <= len(company) <= 12 and _DIGITS.fullmatch(company)):
        return None
    if any(not re.fullmatch(r"\d\d", p) for p in middle):
        return None  # ITIP piece and total
    if (pieces[2] == "idpat") != (parts[-1] == "*"):
        return None
    fields = dict(zip(("piece", "total"), middle, strict=False))
    if scheme.key == "text":
        # The reference may be empty (a 12-digit company prefix, TDS); the grammar has the rest.
        encoded = _recoded(reference) if _URN_COMPONENT.fullmatch(reference) else None
        if encoded is None and reference:
            return None
        fields["key"] = company + (encoded or "")
    else:
        # A 12-digit company prefix leaves a GLN-based key no reference digits at all.
        if len(company + reference) != scheme.digits or not re.fullmatch(r"\d*", reference):
            return None
        digits = company + reference
        if scheme.key == "indicator":
            digits = reference[0] + company + reference[1:]
        fields["key"] = digits + check_digit(digits)
    if scheme.parts > 2 and pieces[2] != "idpat":
        serial = _recoded(parts[-1])
        if serial is None:
            return None
        fields["serial"] = serial
    path = scheme.path.format(**fields)
    if pieces[3] == "sgln":
        path = path.removesuffix("/254/0")  # TDS: an SGLN extension of 0 means none
    return CANONICAL_ORIGIN + path if _valid_path(path) else None


def _constrain(uri: str) -> str | None:
    match = _HTTP_URI.match(uri)
    if match is None or not match.group(1):
        return None
    segments = match.group(1).strip("/").split("/")
    # The primary key is the first AI segment followed by a value; anything before it is the
    # host's own path prefix (https://example.com/products/01/...).
    start = next(
        (
            i
            for i in range(len(segments) - 1)
            if _SHORT_NAMES.get(segments[i], segments[i]) in _PRIMARY_KEYS
            and re.match(r"\d{4}", segments[i + 1])
        ),
        None,
    )
    if start is None or (len(segments) - start) % 2:
        return None
    pairs: dict[str, str] = {}
    for name, value in zip(segments[start::2], segments[start + 1 :: 2], strict=True):
        ai, recoded = _SHORT_NAMES.get(name, name), _recoded(value)
        if ai in pairs or recoded is None:
            return None
        pairs[ai] = recoded
    primary, value = next(iter(pairs.items()))
    if primary == "01" and len(value) in (8, 12, 13) and _DIGITS.fullmatch(value):
        value = value.zfill(14)  # GTIN-8, -12 and -13 are GTIN-14s with leading zeros
    allowed = _PRIMARY_KEYS[primary][1]
    qualifiers = {ai: v for ai, v in pairs.items() if ai != primary}
    if not set(qualifiers) <= set(allowed):
        return None
    qualifiers.pop("22", None)  # a consumer product variant does not identify the object
    if "21" in qualifiers:
        qualifiers.pop("10", None)  # the finest level only: a serial makes the lot redundant
    # Qualifiers in the grammar's order, whatever order the URI gave them in.
    path = f"{primary}/{value}" + "".join(
        f"/{ai}/{qualifiers[ai]}" for ai in allowed if ai in qualifiers
    )
    return CANONICAL_ORIGIN + path if _valid_path(path) else None


def _valid_path(path: str) -> bool:
    """Whether a canonical path's primary key and qualifiers fit the Digital Link grammar."""
    segments = path.split("/")
    if len(segments) % 2 or segments[0] not in _PRIMARY_KEYS:
        return False
    allowed = _PRIMARY_KEYS[segments[0]][1]
    ais = segments[2::2]
    if len(set(ais)) != len(ais) or not set(ais) <= set(allowed):
        return False
    pairs = zip(segments[::2], segments[1::2], strict=True)
    return all(_VALUES[ai].fullmatch(value) for ai, value in pairs)
