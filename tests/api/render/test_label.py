"""Drawing labels: the QR code stays within the printable version and reads back as the label's
URL from PNG and PDF; A7 geometry; pictograms as vector drawings; text kept inside its room."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET

import pypdfium2
import pytest
import zxingcpp
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from api.render.label import (
    MAX_QR_VERSION,
    PNG_SIZE,
    LabelTooLarge,
    qr_code,
    render,
    render_sheet,
    sheet,
    svg_label,
)
from api.render.label_layout import (
    HEIGHT,
    MARGIN,
    QR_BOX,
    QR_X,
    QR_Y,
    WIDTH,
    LabelContent,
    layout,
)
from api.render.label_text import ELLIPSIS, width

TOKEN = "2MEFBAQBOQ" * 22  # 220 base32 characters, as long as a batch's token
PREFIX = "http://127.0.0.1:8000/v/"
SVG = "{http://www.w3.org/2000/svg}"

ACETIC_ANHYDRIDE_VI = LabelContent(
    locale="vi",
    name="Anhydrit axetic",
    cas="Số CAS 108-24-7",
    pictograms=("GHS02", "GHS05", "GHS06"),
    signal_word="Nguy hiểm",
    hazards=(
        "H226 Chất lỏng và hơi dễ cháy",
        "H302 Có hại nếu nuốt phải",
        "H314 Gây bỏng da nghiêm trọng và tổn thương mắt",
        "H330 Gây tử vong nếu hít phải",
    ),
    precautions=(),
    details=("Số lô AA-2026-001 · 500 kg · 99.5% khối lượng", "Nguồn gốc: Sản xuất"),
    ident=("Mã …ABCDEFGH", "Thùng chứa 0001"),
)
UNCLASSIFIED = LabelContent(
    locale="en",
    name="Acetone",
    cas="CAS No. 67-64-1",
    pictograms=(),
    signal_word=None,
    hazards=(),
    precautions=(),
    details=("Lot 1 · 25 kg · 99% w/w", "Holder: Producer", "Origin: Produced"),
    ident=("ID …ABCDEFGH",),
)


def test_a_32_character_public_url_fits_the_printable_version():
    assert qr_code("https://chemtrace.example.gov.vn/v/", TOKEN).version <= MAX_QR_VERSION


def test_a_url_that_would_need_a_larger_code_is_refused_clearly():
    long_url = "https://traceability-registry.chemicals.industrial-safety.ministry-of-industry-and-trade.example.gov.vn/v/"
    with pytest.raises(LabelTooLarge, match=r"QR version 1\d.*CHEMTRACE_PUBLIC_URL"):
        qr_code(long_url, TOKEN)


def _decoded(image: Image.Image) -> list[str]:
    return [found.text for found in zxingcpp.read_barcodes(image.convert("L"))]


def test_the_png_is_a7_at_300_dpi_and_its_qr_code_reads_back_as_the_label_url():
    image = Image.open(io.BytesIO(render(TOKEN, "png", ACETIC_ANHYDRIDE_VI, PREFIX)))
    assert image.size == PNG_SIZE == (1240, 874)
    assert tuple(round(d) for d in image.info["dpi"]) == (300, 300)
    assert _decoded(image) == [PREFIX + TOKEN]


def _pdf_pages(data: bytes, dpi: int = 300) -> list[tuple[tuple[float, float], Image.Image]]:
    document = pypdfium2.PdfDocument(data)
    return [(page.get_size(), page.render(scale=dpi / 72).to_pil()) for page in document]


def _mm(points: float) -> float:
    return round(points * 25.4 / 72, 1)


def test_the_pdf_is_one_label_sized_page_whose_qr_code_reads_back_and_embeds_the_font():
    data = render(TOKEN, "pdf", ACETIC_ANHYDRIDE_VI, PREFIX)
    [((w, h), image)] = _pdf_pages(data)
    assert (_mm(w), _mm(h)) == (WIDTH, HEIGHT)
    assert _decoded(image) == [PREFIX + TOKEN]
    assert b"/FontFile2" in data, "the font is not embedded"
    assert b"NotoSans" in data


def test_a_labels_pdf_puts_eight_labels_on_each_a4_page():
    tokens = [f"{n:02d}" + TOKEN[2:] for n in range(10)]
    data = render_sheet("pdf", tuple((t, ACETIC_ANHYDRIDE_VI) for t in tokens), PREFIX)
    pages = _pdf_pages(data, dpi=200)
    assert [(_mm(w), _mm(h)) for (w, h), _ in pages] == [(210.0, 297.0)] * 2
    read = [text for _, image in pages for text in _decoded(image)]
    assert sorted(read) == sorted(PREFIX + t for t in tokens)


def _pdf_path_colours(data: bytes) -> list[tuple[int, int, int]]:
    """The fill colour of every vector path on the first page, inside forms too."""
    import ctypes

    import pypdfium2.raw as pdfium_c

    colours = []
    page = pypdfium2.PdfDocument(data)[0]
    for obj in page.get_objects(max_depth=5):
        if obj.type == pdfium_c.FPDF_PAGEOBJ_PATH:
            r, g, b, a = (ctypes.c_uint() for _ in range(4))
            pdfium_c.FPDFPageObj_GetFillColor(obj.raw, r, g, b, a)
            colours.append((r.value, g.value, b.value))
    return colours


def test_pictograms_are_red_bordered_vector_diamonds_in_svg_and_pdf():
    root = ET.fromstring(render(TOKEN, "svg", ACETIC_ANHYDRIDE_VI, PREFIX))  # noqa: S314
    groups = [g for g in root.iter(f"{SVG}g") if g.get("class") == "pictogram"]
    assert [g.get("data-code") for g in groups] == ["GHS02", "GHS05", "GHS06"]
    for group in groups:
        fills = [p.get("fill") for p in group.iter(f"{SVG}path")]
        assert fills[:2] == ["#e00", "#fff"] and "#000" in fills  # border, ground, symbol
    red = [c for c in _pdf_path_colours(render(TOKEN, "pdf", ACETIC_ANHYDRIDE_VI, PREFIX))]
    assert red.count((238, 0, 0)) == 3, "one red diamond per pictogram, as a path"


def test_a_substance_without_classification_gets_no_hazard_area():
    drawn = layout(UNCLASSIFIED)
    assert drawn.pictograms == () and drawn.rule_y is None
    assert drawn.lines("statement") == drawn.lines("signal") == []
    assert [t.text for t in drawn.texts] == [
        "Acetone",
        "CAS No. 67-64-1",
        "ID …ABCDEFGH",
        "Lot 1 · 25 kg · 99% w/w",
        "Holder: Producer",
        "Origin: Produced",
    ]
    markup = render(TOKEN, "svg", UNCLASSIFIED, PREFIX).decode()
    assert 'class="pictogram"' not in markup and "#e00" not in markup


def test_the_svg_holds_its_words_as_text_in_millimetres_with_the_font_embedded():
    document = render(TOKEN, "svg", ACETIC_ANHYDRIDE_VI, PREFIX)
    root = ET.fromstring(document)  # noqa: S314 - our own output
    assert (root.get("width"), root.get("height"), root.get("viewBox")) == (
        "105mm",
        "74mm",
        "0 0 105 74",
    )
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "Nguy hiểm" in texts and "H314 Gây bỏng da nghiêm trọng và tổn thương mắt" in texts
    assert b"@font-face" in document and b"data:font/woff;base64," in document


def test_hazard_statements_wrap_within_their_area_and_what_does_not_fit_ends_with_an_ellipsis():
    many = tuple(
        f"H{300 + n} " + "Gây tổn thương nghiêm trọng cho các cơ quan " * 2 for n in range(9)
    )
    drawn = layout(ACETIC_ANHYDRIDE_VI.__class__(**{**vars(ACETIC_ANHYDRIDE_VI), "hazards": many}))
    statements = [t for t in drawn.texts if t.part == "statement"]
    assert len(statements) > 6 and statements[0].text.startswith("H300 ")
    assert not statements[1].text.startswith("H301"), "a long statement goes on to a new line"
    assert statements[-1].text.endswith(ELLIPSIS)
    assert max(t.y for t in statements) < drawn.rule_y


def _inside(content: LabelContent) -> None:
    """Every text stays within the label's margins and clear of the QR code."""
    for text in layout(content).texts:
        right = text.x + width(text.text, text.size)
        assert right <= WIDTH - MARGIN + 1e-6, text
        beside_qr = text.y - text.size < QR_Y + QR_BOX and text.x < QR_X
        assert not beside_qr or right <= QR_X, f"{text} runs over the QR code"
        assert text.y <= HEIGHT - MARGIN + 1e-6


LONG = "Công ty Trách nhiệm Hữu hạn Một thành viên Hóa chất Công nghiệp Miền Bắc " * 3


def test_very_long_names_and_lots_end_with_an_ellipsis_and_stay_inside():
    content = LabelContent(
        locale="vi",
        name=LONG,
        cas="Số CAS 108-24-7",
        pictograms=("GHS01", "GHS02", "GHS03", "GHS04", "GHS05", "GHS06", "GHS07", "GHS08"),
        signal_word="Nguy hiểm",
        hazards=(LONG,),
        precautions=(LONG,),
        details=(f"Số lô {LONG}", f"Đơn vị chịu trách nhiệm: {LONG}"),
        ident=(f"Mã …{LONG}", f"Thùng chứa {LONG}"),
    )
    texts = layout(content).texts
    assert texts[0].text.endswith(ELLIPSIS) and LONG.startswith(texts[0].text[:-1])
    assert all(
        t.text.endswith(ELLIPSIS) for t in texts if t.text.startswith(("Số lô", "Mã", "Thùng"))
    )
    _inside(content)
    image = Image.open(io.BytesIO(render(TOKEN, "png", content, PREFIX))).convert("L")
    right_margin = image.crop((PNG_SIZE[0] - 30, 0, PNG_SIZE[0], PNG_SIZE[1]))
    assert right_margin.getextrema()[0] == 255, "ink in the right margin"


_text = st.text(min_size=0, max_size=150)


@settings(max_examples=60, deadline=None)
@given(
    name=_text,
    lines=st.lists(_text, min_size=1, max_size=5),
    hazards=st.lists(_text, max_size=6),
    pictograms=st.lists(st.sampled_from(["GHS01", "GHS05", "GHS09", "GHS99"]), max_size=9),
)
def test_whatever_the_words_nothing_is_drawn_off_the_label_or_over_the_qr_code(
    name, lines, hazards, pictograms
):
    from api.render.label_text import printable

    _inside(
        LabelContent(
            locale="en",
            name=printable(name),
            cas=None,
            pictograms=tuple(pictograms),
            signal_word="Danger" if pictograms else None,
            hazards=tuple(printable(h) for h in hazards),
            precautions=(),
            details=tuple(printable(line) for line in lines),
            ident=(printable(lines[0]),),
        )
    )


def test_a_sheet_places_labels_two_across_at_their_real_size():
    one = svg_label(TOKEN, UNCLASSIFIED, PREFIX)
    root = ET.fromstring(sheet([one] * 3))  # noqa: S314 - our own output
    assert (root.get("width"), root.get("height")) == ("210mm", "148mm")
    placed = [g.get("transform") for g in root if g.tag.endswith("g")]
    assert placed == ["translate(0,0)", "translate(105,0)", "translate(0,74)"]


def test_a_pictogram_code_without_a_drawing_is_written_as_its_code():
    content = LabelContent(**{**vars(ACETIC_ANHYDRIDE_VI), "pictograms": ("GHS02", "GHS99")})
    drawn = layout(content)
    assert [p.code for p in drawn.pictograms] == ["GHS02"]
    assert drawn.lines("pictogram") == ["GHS99"]
