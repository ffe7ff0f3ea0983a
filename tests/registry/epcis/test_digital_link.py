"""GS1 keys to canonical Digital Link: every EPC URN scheme, the escapes, the constraints.

Sources of the cases (each case names its own):
- [E.3]    EPC Tag Data Standard 2.3, Annex E.3: each example key as EPC URI (the legacy
  schemes' tables) and as GS1 Digital Link URI (the "+" schemes' tables), with the GS1
  example prefixes 950/952; as pinned by TDS23Tests.cs of
  github.com/dannyhaak/TagDataTranslation (TagDataTranslation-C#/TagDataTranslationUnitTest).
- [TDS-E]  The standard's older worked examples (prefixes 0614141 and 4012345): pure
  identity URI next to the GS1 element string, its key with check digit; as pinned by
  TDSStandard.cs of the same repository.
- [TDS-A]  EPC Tag Data Standard 2.x, the URI form of character set 82: an EPC URI escapes
  " % & / < > ? as %22 %25 %26 %2F %3C %3E %3F (and # as %23 in a CPI).
- [DL-G]   GS1 Digital Link URI syntax 1.2, grammar (github.com/gs1/digital-link.js,
  grammar/GS1_Digital_Link_Grammar_1_2.abnf): XSYMBOL percent-encodes ! % & ' ( ) * + , /
  : ; < = > ? and keeps - . _ (and ", which RFC 3986 bars from URIs, we write %22 as TDS
  does); short names (gtin, lot, ser...) for the AIs; GTIN-8, -12, -13.
- [OE]     github.com/openepcis/openepcis-epc-digitallink-translator, src/test/java/...
  (URN -> Digital Link assertions; file named per case).
- [RT]     github.com/RalphTro/gs1-epc-digitallink-translator: README.md (the SGTIN example)
  and testData_validExamples.py (the URNs; their Digital Link worked out by the rules).
- [HG]     github.com/RalphTro/epcis-event-hash-generator, dl_normaliser.py: the constrained
  form CBV 2.0 section 8.9 hashes (id.gs1.org, no query string, no CPV, serial over lot).
"""

from __future__ import annotations

from typing import Any

import pytest

from registry.epcis.digital_link import check_digit, encode_value, to_digital_link
from registry.epcis.mapping import batch_uri, organization_uri

DL = "https://id.gs1.org/"


def case(uri: str, expected: str, source: str) -> Any:
    return pytest.param(uri, DL + expected, id=source)


# --- one case (or more) per EPC scheme -------------------------------------------------------

# [E.3] The same key, as the standard writes it both ways.
TDS_2_3_ANNEX_E3 = [
    # SGTIN-96 (GS1 company prefix of 11 digits): gtin=09506000134352;serial=123456789.
    case("urn:epc:id:sgtin:95060001343.05.123456789", "01/09506000134352/21/123456789", "sgtin"),
    # SGTIN-198: gtin=09506000134352;serial=32a/b; SGTIN+ writes the serial 32a%2Fb.
    case("urn:epc:id:sgtin:95060001343.05.32a%2Fb", "01/09506000134352/21/32a%2Fb", "sgtin-198"),
    # SSCC-96 (6-digit prefix) and SSCC+: .../00/095201234567891235
    case("urn:epc:id:sscc:952012.03456789123", "00/095201234567891235", "sscc"),
    # SGLN-195 and SGLN+: .../414/9521141123454/254/32a%2Fb
    case("urn:epc:id:sgln:9521141.12345.32a%2Fb", "414/9521141123454/254/32a%2Fb", "sgln"),
    # GRAI-170 and GRAI+: .../8003/0952114112345432a%2Fb
    case("urn:epc:id:grai:9521141.12345.32a%2Fb", "8003/0952114112345432a%2Fb", "grai"),
    # GIAI-202 and GIAI+: .../8004/952114132a%2Fb
    case("urn:epc:id:giai:9521141.32a%2Fb", "8004/952114132a%2Fb", "giai"),
    # GSRN-96 and GSRN+, GSRNP-96 and GSRNP+.
    case("urn:epc:id:gsrn:9521141.1234567890", "8018/952114112345678906", "gsrn"),
    case("urn:epc:id:gsrnp:9521141.1234567890", "8017/952114112345678906", "gsrnp"),
    # GDTI-96 and GDTI+: .../253/95211411234545678
    case("urn:epc:id:gdti:9521141.12345.5678", "253/95211411234545678", "gdti"),
    # CPI-var and CPI+: .../8010/95211415PQ7%2FZ43/8011/12345
    case("urn:epc:id:cpi:9521141.5PQ7%2FZ43.12345", "8010/95211415PQ7%2FZ43/8011/12345", "cpi"),
    # SGCN-96 and SGCN+: .../255/952114167890904711
    case("urn:epc:id:sgcn:9521141.67890.04711", "255/952114167890904711", "sgcn"),
    # ITIP-110 (itip=095211411234540102) with ITIP+'s serial rif981.
    case(
        "urn:epc:id:itip:9521141.012345.01.02.rif981",
        "8006/095211411234540102/21/rif981",
        "itip",
    ),
]


@pytest.mark.parametrize(("uri", "expected"), TDS_2_3_ANNEX_E3)
def test_tds_2_3_annex_e3(uri: str, expected: str):
    assert to_digital_link(uri) == expected


def test_tds_2_3_annex_e3_digital_link_of_another_host():
    # [E.3] SGTIN++ names the key under id.example.com; the hash wants id.gs1.org ([HG]).
    uri = "https://id.example.com/01/79521141123453/21/32a%2Fb"
    assert to_digital_link(uri) == DL + "01/79521141123453/21/32a%2Fb"


SCHEMES = [
    # [TDS-E] SGTIN-96: (01)80614141123458(21)6789; the indicator 8 moves to the front.
    case("urn:epc:id:sgtin:0614141.812345.6789", "01/80614141123458/21/6789", "sgtin-TDS-E"),
    # [RT] README.md: urn:epc:id:sgtin:4012345.011111.987 -> .../01/04012345111118/21/987
    case("urn:epc:id:sgtin:4012345.011111.987", "01/04012345111118/21/987", "sgtin-RT"),
    # [OE] SGTINTest.java: a 9-digit company prefix.
    case("urn:epc:id:sgtin:234567890.1123.9999", "01/12345678901231/21/9999", "sgtin-OE"),
    # [TDS-E] SSCC-96: (00)106141412345678908; the extension digit 1 moves to the front.
    case("urn:epc:id:sscc:0614141.1234567890", "00/106141412345678908", "sscc-TDS-E"),
    # [TDS-E] SGLN-96: (414)0614141123452(254)5678.
    case("urn:epc:id:sgln:0614141.12345.5678", "414/0614141123452/254/5678", "sgln-TDS-E"),
    # [TDS-E] an SGLN extension of 0 is "no extension": the GLN (414)0614141123452 alone.
    case("urn:epc:id:sgln:0614141.12345.0", "414/0614141123452", "sgln-no-extension"),
    # [TDS-E] GRAI-96: (8003)006141411234525678; the leading 0 is the GRAI's filler digit.
    case("urn:epc:id:grai:0614141.12345.5678", "8003/006141411234525678", "grai-TDS-E"),
    # [TDS-E] GIAI-96: (8004)06141415678.
    case("urn:epc:id:giai:0614141.5678", "8004/06141415678", "giai-TDS-E"),
    # [TDS-E] GSRN-96: (8018)061414112345678902.
    case("urn:epc:id:gsrn:0614141.1234567890", "8018/061414112345678902", "gsrn-TDS-E"),
    # [TDS-E] GSRNP-96: (8017)061414112345678902.
    case("urn:epc:id:gsrnp:0614141.1234567890", "8017/061414112345678902", "gsrnp-TDS-E"),
    # [TDS-E] GDTI-96: (253)06141411234525678; the serial follows the check digit.
    case("urn:epc:id:gdti:0614141.12345.5678", "253/06141411234525678", "gdti-TDS-E"),
    # [TDS-E] GDTI-174: (253)4012345987652ABCDefgh012345678.
    case(
        "urn:epc:id:gdti:4012345.98765.ABCDefgh012345678",
        "253/4012345987652ABCDefgh012345678",
        "gdti-174-TDS-E",
    ),
    # [TDS-E] CPI-96: (8010)061414198765(8011)12345; no check digit in a CPI.
    case("urn:epc:id:cpi:0614141.98765.12345", "8010/061414198765/8011/12345", "cpi-TDS-E"),
    # [OE] CPITest.java: letters and a hyphen in the part reference.
    case(
        "urn:epc:id:cpi:3813667.83201294-5A.489332",
        "8010/381366783201294-5A/8011/489332",
        "cpi-OE",
    ),
    # [TDS-E] SGCN-96: (255)401234567890104711; the serial keeps its leading zero.
    case("urn:epc:id:sgcn:4012345.67890.04711", "255/401234567890104711", "sgcn-TDS-E"),
    # [OE] GINCTest.java: urn:epc:id:ginc:1234567890.1234 -> .../401/12345678901234
    case("urn:epc:id:ginc:1234567890.1234", "401/12345678901234", "ginc-OE"),
    # [OE] GSINTest.java: urn:epc:id:gsin:123456.7890123456 -> .../402/12345678901234560
    case("urn:epc:id:gsin:123456.7890123456", "402/12345678901234560", "gsin-OE"),
    # [TDS-E] ITIP-110: (8006)040123451234560102(21)987; piece 01 of 02.
    case(
        "urn:epc:id:itip:4012345.012345.01.02.987",
        "8006/040123451234560102/21/987",
        "itip-TDS-E",
    ),
    # [OE] UPUITest.java: the third-party controlled serial goes to AI 235.
    case("urn:epc:id:upui:234567.1890123.1111ANC", "01/12345678901231/235/1111ANC", "upui-OE"),
    # [OE] PGLNTest.java: urn:epc:id:pgln:123456.789012 -> .../417/1234567890128
    case("urn:epc:id:pgln:123456.789012", "417/1234567890128", "pgln-OE"),
    # [OE] PGLNTest.java: a 12-digit company prefix leaves the party reference empty.
    case("urn:epc:id:pgln:859839494502.", "417/8598394945028", "pgln-12-digit-prefix"),
    # [OE] LGTINTest.java: the lot goes to AI 10.
    case(
        "urn:epc:class:lgtin:4023333.002000.2019-10-07",
        "01/04023333020008/10/2019-10-07",
        "lgtin-OE",
    ),
    # [OE] SGTINTest.java: idpat:sgtin with * serial is the GTIN class.
    case("urn:epc:idpat:sgtin:8853849.838493.*", "01/88853849384934", "idpat-sgtin-OE"),
    # [OE] CPITest.java: idpat:cpi is the CPI class; a 12-digit prefix, empty reference.
    case("urn:epc:idpat:cpi:438483.74387483.*", "8010/43848374387483", "idpat-cpi-OE"),
    case("urn:epc:idpat:cpi:164759476414..*", "8010/164759476414", "idpat-cpi-12-digit"),
    # [OE] GINCTest.java (read the other way): .../401/656987789012 is ginc:656987789012.
    case("urn:epc:id:ginc:656987789012.", "401/656987789012", "ginc-12-digit-prefix"),
    # [HG] dl_normaliser.py: idpat grai, gdti, sgcn, itip and upui as their class-level keys
    # (check digits from [TDS-E]'s keys above).
    case("urn:epc:idpat:grai:0614141.12345.*", "8003/00614141123452", "idpat-grai-HG"),
    case("urn:epc:idpat:gdti:0614141.12345.*", "253/0614141123452", "idpat-gdti-HG"),
    case("urn:epc:idpat:sgcn:4012345.67890.*", "255/4012345678901", "idpat-sgcn-HG"),
    case("urn:epc:idpat:itip:4012345.012345.01.02.*", "8006/040123451234560102", "idpat-itip"),
    case("urn:epc:idpat:upui:234567.1890123.*", "01/12345678901231", "idpat-upui-HG"),
]


@pytest.mark.parametrize(("uri", "expected"), SCHEMES)
def test_every_epc_scheme(uri: str, expected: str):
    assert to_digital_link(uri) == expected


@pytest.mark.parametrize(("uri", "expected"), TDS_2_3_ANNEX_E3 + SCHEMES)
def test_the_canonical_form_is_a_fixed_point(uri: str, expected: str):
    assert to_digital_link(expected) == expected


# --- escaping: the URN's TDS escapes decoded, Digital Link's encoding applied ----------------

ESCAPES = [
    # [TDS-E] SGTIN-198: (01)70614141123451(21)32a/b <-> urn:...:sgtin:0614141.712345.32a%2Fb
    case("urn:epc:id:sgtin:0614141.712345.32a%2Fb", "01/70614141123451/21/32a%2Fb", "%2F-/"),
    # [TDS-E] SGLN-195, GRAI-170, GIAI-202: the same 32a/b in an extension, a serial, a key.
    case("urn:epc:id:sgln:0614141.12345.32a%2Fb", "414/0614141123452/254/32a%2Fb", "%2F-sgln"),
    case("urn:epc:id:grai:0614141.12345.32a%2Fb", "8003/0061414112345232a%2Fb", "%2F-grai"),
    case("urn:epc:id:giai:0614141.32a%2Fb", "8004/061414132a%2Fb", "%2F-giai"),
    # [TDS-E] CPI-var: (8010)06141415PQ7/Z43(8011)12345.
    case("urn:epc:id:cpi:0614141.5PQ7%2FZ43.12345", "8010/06141415PQ7%2FZ43/8011/12345", "%2F-cpi"),
    # [TDS-A] CPI's "#" is %23 in the URN and in Digital Link ([DL-G] YSYMBOL).
    case("urn:epc:id:cpi:0614141.12%2345.1", "8010/061414112%2345/8011/1", "%23"),
    # [RT] testData_validExamples.py: urn:epc:id:sgtin:4012345.011111.98%22 (a double quote).
    case("urn:epc:id:sgtin:4012345.011111.98%22", "01/04012345111118/21/98%22", "%22"),
    # [TDS-A] and [DL-G]: each escape of character set 82, one at a time.
    case("urn:epc:id:sgtin:4012345.011111.A%25B", "01/04012345111118/21/A%25B", "%25"),
    case("urn:epc:id:sgtin:4012345.011111.A%26B", "01/04012345111118/21/A%26B", "%26"),
    case("urn:epc:id:sgtin:4012345.011111.A%3CB", "01/04012345111118/21/A%3CB", "%3C"),
    case("urn:epc:id:sgtin:4012345.011111.A%3EB", "01/04012345111118/21/A%3EB", "%3E"),
    case("urn:epc:id:sgtin:4012345.011111.A%3FB", "01/04012345111118/21/A%3FB", "%3F"),
    # [TDS-A] hex digits in either case are the same escape; Digital Link writes upper case.
    case("urn:epc:id:sgtin:4012345.011111.32a%2fb", "01/04012345111118/21/32a%2Fb", "lower-hex"),
    # [RT] testData_validExamples.py, the GINC example: urn:epc:id:ginc:0614141.xyz47%2F11
    case("urn:epc:id:ginc:0614141.xyz47%2F11", "401/0614141xyz47%2F11", "%2F-ginc-RT"),
    # [RT] testData_validExamples.py: escapes next to characters a URN carries literally but
    # Digital Link percent-encodes ([DL-G]: ! ( ) * ' are %21 %28 %29 %2A %27).
    case(
        "urn:epc:id:sgtin:0614141.812345.6789%2F%26%25%22!%3F()",
        "01/80614141123458/21/6789%2F%26%25%22%21%3F%28%29",
        "mixed-RT",
    ),
    case(
        "urn:epc:id:upui:1234567.098765.51qIgY)%3C%26Jp3*j7'SDB",
        "01/01234567987651/235/51qIgY%29%3C%26Jp3%2Aj7%27SDB",
        "upui-RT",
    ),
    # [DL-G] the rest of the literal URN characters: + , : ; = encoded; - . _ kept.
    case(
        "urn:epc:id:sgtin:4012345.011111.a+b,c:d;e=f-g.h_i",
        "01/04012345111118/21/a%2Bb%2Cc%3Ad%3Be%3Df-g.h_i",
        "literal-rest",
    ),
]


@pytest.mark.parametrize(("uri", "expected"), ESCAPES)
def test_escapes(uri: str, expected: str):
    assert to_digital_link(uri) == expected


def test_a_serial_written_both_ways_is_one_key():
    # [DL-G] "!" is %21 in Digital Link; a URN may carry it literally ([TDS-A]).
    urn = to_digital_link("urn:epc:id:sgtin:4012345.011111.A!B")
    assert urn == to_digital_link("https://id.gs1.org/01/04012345111118/21/A!B")
    assert urn == to_digital_link("https://id.gs1.org/01/04012345111118/21/A%21B")


def test_helpers():
    # [TDS-E] GSRN 06141411234567890 -> check digit 2; SSCC 10614141234567890 -> 8.
    assert check_digit("06141411234567890") == "2"
    assert check_digit("10614141234567890") == "8"
    assert encode_value("32a/b!") == "32a%2Fb%21"


# --- Digital Link URIs constrained ------------------------------------------------------------

CONSTRAINED = [
    # [HG] any host becomes id.gs1.org; a query string goes.
    case(
        "https://example.com/01/09506000134352/21/ABC?17=261231",
        "01/09506000134352/21/ABC",
        "host-and-query",
    ),
    # [DL-G] a host's own path prefix before the primary key, http, a fragment.
    case("http://example.com/shop/p/01/09506000134352#top", "01/09506000134352", "prefix"),
    # [DL-G] short names gtin, lot, ser; GTIN-13, -12 and -8 padded to 14 digits.
    case("https://example.com/gtin/9506000134352/ser/7", "01/09506000134352/21/7", "gtin-13"),
    case("https://id.gs1.org/01/614141123452", "01/00614141123452", "gtin-12"),
    case("https://id.gs1.org/01/95012346", "01/00000095012346", "gtin-8"),
    case("https://id.gs1.org/gtin/09506000134352/lot/L1", "01/09506000134352/10/L1", "lot"),
    # [HG] the finest level only: the serial makes the lot redundant; no CPV.
    case(
        "https://id.gs1.org/01/09506000134352/22/V1/10/L1/21/S1",
        "01/09506000134352/21/S1",
        "cpv-lot-serial",
    ),
    # [DL-G] other short names: sscc, gln + glnx, party, cpid + cpsn, giai.
    case("https://example.com/sscc/106141412345678908", "00/106141412345678908", "sscc"),
    case(
        "https://example.com/gln/0614141123452/glnx/5678",
        "414/0614141123452/254/5678",
        "gln-glnx",
    ),
    case("https://example.com/party/1234567890128", "417/1234567890128", "party"),
    case(
        "https://example.com/cpid/061414198765/cpsn/12345",
        "8010/061414198765/8011/12345",
        "cpid-cpsn",
    ),
    # [DL-G] a value's percent-encoding made canonical: "!" and lower-case hex.
    case("https://id.gs1.org/8004/0614141a!b%2fc", "8004/0614141a%21b%2Fc", "value-encoding"),
    # A trailing slash.
    case("https://id.gs1.org/00/106141412345678908/", "00/106141412345678908", "trailing-slash"),
]


@pytest.mark.parametrize(("uri", "expected"), CONSTRAINED)
def test_digital_link_uris_are_constrained(uri: str, expected: str):
    assert to_digital_link(uri) == expected


NOT_GS1_KEYS = [
    # The registry's own URIs stay as they are (and are hashed as they are).
    batch_uri("https://registry.example", "01HZX3K9Q2V7W8Y5T4R6S1N0PA"),
    organization_uri("https://registry.example", "0123456789"),
    "https://www.ncbi.nlm.nih.gov/taxonomy/1126011",
    "urn:epcglobal:cbv:bt:4012345000009:PO1",
    # [TDS-E] schemes without a GS1 key, and tag encodings, have no Digital Link form.
    "urn:epc:id:gid:31415.271828.1414",
    "urn:epc:id:usdod:CAGEY.5678",
    "urn:epc:tag:sgtin-96:3.0614141.812345.6789",
    # Wrong digit counts: company prefix + item reference must be 13 digits for a GTIN.
    "urn:epc:id:sgtin:0614141.10734.2017",
    "urn:epc:id:sgtin:23567.18012.1234",  # [OE] a 5-digit company prefix
    "urn:epc:id:sscc:0614141.123456789",
    "urn:epc:id:gsin:1234567890.12345",  # [OE] GSINTest.java: 16 digits
    "urn:epc:id:pgln:123456.78901",  # [OE] PGLNTest.java: 12 digits
    "urn:epc:id:sgtin:0614141.8123A5.6789",
    # A serial past its 20 characters, one missing, a stray or non-ASCII escape.
    "urn:epc:id:sgtin:0614141.812345.123456789012345678901",
    "urn:epc:id:sgtin:0614141.812345",
    "urn:epc:id:sgtin:0614141.812345.",
    "urn:epc:class:lgtin:4384738478.734.8484892%",  # [OE] LGTINTest.java: a bare %
    "urn:epc:id:sgtin:0614141.812345.A%20B",  # a space is not in character set 82
    "urn:epc:id:sgtin:0614141.812345.%C3%A9",
    "urn:epc:id:sgtin:0614141.812345.A/B",  # "/" must be escaped in a URN
    # A CPI is digits, upper-case letters, "-", "#" and "/" only; its serial digits.
    "urn:epc:id:cpi:0614141.abc.1",
    "urn:epc:id:cpi:0614141.98765.A1",
    # An idpat names one class only with its last part "*"; an id never has "*" alone.
    "urn:epc:idpat:sgtin:0614141.*.*",
    "urn:epc:idpat:sgtin:0614141.812345.6789",
    "urn:epc:id:sgtin:0614141.812345.*",
    "urn:epc:idpat:sscc:0614141.*",
    # ITIP piece and total are two digits each.
    "urn:epc:id:itip:4012345.012345.1.02.987",
    # Digital Link: no primary key, a qualifier the key does not take, a repeated AI,
    # a GTIN of the wrong length, an odd number of segments.
    "https://id.gs1.org/",
    "https://id.gs1.org/00/106141412345678908/21/1",
    "https://id.gs1.org/01/09506000134352/21/1/21/2",
    "https://id.gs1.org/01/09506000134",
    "https://id.gs1.org/01/09506000134352/21",
]


@pytest.mark.parametrize("uri", NOT_GS1_KEYS)
def test_what_is_not_a_gs1_key_is_left_alone(uri: str):
    assert to_digital_link(uri) is None


# Keys as the reference generator's vectors (tests/data/epcis/event-hash) write them.
@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("urn:epc:id:sgtin:0614141.107346.2017", "https://id.gs1.org/01/10614141073464/21/2017"),
        ("urn:epc:id:sscc:4012345.1112223334", "https://id.gs1.org/00/140123451122233341"),
        ("urn:epc:id:sgln:0614141.07346.1234", "https://id.gs1.org/414/0614141073467/254/1234"),
        ("urn:epc:id:pgln:4012345.00000", "https://id.gs1.org/417/4012345000009"),
        ("urn:epc:id:giai:4000001.111", "https://id.gs1.org/8004/4000001111"),
        ("urn:epc:idpat:sgtin:4012345.066666.*", "https://id.gs1.org/01/04012345666663"),
        (
            "https://example.com/gtin/4012345999990/ser/A1?x=1",
            "https://id.gs1.org/01/04012345999990/21/A1",
        ),
        (
            "https://id.gs1.org/01/09780345418913/10/L1/21/S1",
            "https://id.gs1.org/01/09780345418913/21/S1",
        ),
        ("urn:epc:id:sgtin:0614141.10734.2017", None),
        ("https://www.ncbi.nlm.nih.gov/taxonomy/1126011", None),
    ],
)
def test_keys_of_the_event_hash_vectors(uri: str, expected: str | None):
    assert to_digital_link(uri) == expected
