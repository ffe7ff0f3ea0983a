"""Exact quantities: what parse_quantity accepts and refuses, round trips between units,
and conversions through a density that are exact or refused, never rounded.

Every expectation is computed independently with ``fractions.Fraction`` (or high-precision
``Decimal``), never with the module's own helpers.
"""

from __future__ import annotations

from decimal import Decimal, localcontext
from fractions import Fraction

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from registry.custody.quantities import (
    BASE_UNIT,
    MASS,
    MAX_MICRO,
    UNITS,
    VOLUME,
    Amount,
    decimal_text,
    in_dimension,
    mass_of,
    parse_factor,
    parse_quantity,
    pure_grams,
)
from registry.errors import DomainError, InvalidInput

settings.register_profile("quantities", max_examples=200, deadline=None)
QUANTITIES = settings.get_profile("quantities")

MASS_UNITS = ["g", "kg", "t"]
VOLUME_UNITS = ["mL", "L", "m3"]
FACTOR = {"g": 10**6, "kg": 10**9, "t": 10**12, "mL": 10**3, "L": 10**6, "m3": 10**9}


def text_of(micro: int | Fraction, unit: str) -> str:
    """``micro`` micro-units written in ``unit`` as a plain decimal string, computed apart
    from the module (exact: every factor is a power of ten)."""
    value = Fraction(micro) / FACTOR[unit]
    sign = "-" if value < 0 else ""
    value = abs(value)
    whole = value.numerator // value.denominator
    rest = value - whole
    digits = ""
    while rest:
        rest *= 10
        digit = rest.numerator // rest.denominator
        digits += str(digit)
        rest -= digit
    return f"{sign}{whole}" + (f".{digits}" if digits else "")


def refused(code: str, call, *args, **kwargs) -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        call(*args, **kwargs)
    error = caught.value
    assert isinstance(error, DomainError)
    assert error.code == code
    assert [e.code for e in error.field_errors] == [code]
    return error


def q(value: object, unit: object = "kg") -> dict[str, object]:
    return {"value": value, "unit": unit}


units = st.sampled_from(list(UNITS))
micros = st.integers(min_value=1, max_value=MAX_MICRO)
# Small and large magnitudes both matter: bias towards a few digits, sometimes many.
some_micros = st.one_of(
    st.integers(min_value=1, max_value=10**6),
    micros,
    st.sampled_from([1, 999_999, 10**6, 10**9, 10**12, MAX_MICRO - 1, MAX_MICRO]),
)


# --- parsing: what is accepted ------------------------------------------------------


@QUANTITIES
@given(micro=some_micros, unit=units)
def test_every_exact_value_parses_to_its_micro_units(micro, unit):
    text = text_of(micro, unit)
    amount, given_unit = parse_quantity(q(text, unit))
    assert given_unit == unit
    assert amount == Amount(UNITS[unit][0], micro)
    # ... and writes back as the very same text in the unit it was given in.
    assert amount.as_json(unit) == {"value": text, "unit": unit}
    assert amount.value_in(unit) == text


@QUANTITIES
@given(micro=some_micros, unit=units, zeros=st.integers(min_value=1, max_value=6))
def test_trailing_zeros_are_normalised_away(micro, unit, zeros):
    text = text_of(micro, unit)
    padded = text + ("0" * zeros if "." in text else "." + "0" * zeros)
    if len(padded.split(".")[1]) > 12:  # the grammar allows at most 12 decimals
        return
    amount, _ = parse_quantity(q(padded, unit))
    assert amount.micro == micro
    assert amount.value_in(unit) == text


@QUANTITIES
@given(micro=some_micros, unit=units, data=st.data())
def test_an_amount_reads_back_exactly_in_every_unit_of_its_dimension(micro, unit, data):
    dimension = UNITS[unit][0]
    amount = Amount(dimension, micro)
    other = data.draw(st.sampled_from(MASS_UNITS if dimension == MASS else VOLUME_UNITS))
    written = amount.as_json(other)
    assert written == {"value": text_of(micro, other), "unit": other}
    assert parse_quantity(written) == (amount, other)
    # The value in the base unit is the default rendering.
    assert amount.as_json() == amount.as_json(BASE_UNIT[dimension])


@QUANTITIES
@given(micro=some_micros, dimension=st.sampled_from([MASS, VOLUME]))
def test_conversion_between_units_of_one_dimension_is_exact(micro, dimension):
    amount = Amount(dimension, micro)
    small, middle, large = MASS_UNITS if dimension == MASS else VOLUME_UNITS
    in_small = Decimal(amount.value_in(small))
    in_middle = Decimal(amount.value_in(middle))
    in_large = Decimal(amount.value_in(large))
    assert in_middle * 1000 == in_small
    assert in_large * 1000 == in_middle
    # Saying the same amount in another unit parses to the same micro-units.
    assert parse_quantity(q(text_of(micro, large), large))[0] == amount
    assert parse_quantity(q(text_of(micro, small), small))[0] == amount


@QUANTITIES
@given(micro=some_micros, unit=units)
def test_signed_values(micro, unit):
    text = "-" + text_of(micro, unit)
    amount, _ = parse_quantity(q(text, unit), signed=True)
    assert amount == Amount(UNITS[unit][0], -micro)
    assert amount.value_in(unit) == text
    assert -amount == Amount(UNITS[unit][0], micro)
    refused("quantity_invalid", parse_quantity, q(text, unit))


@pytest.mark.parametrize("text", ["0", "0.0", "0.000000000000", "-0", "-0.00"])
def test_zero_only_when_allowed(text):
    refused("quantity_invalid", parse_quantity, q(text))
    refused("quantity_invalid", parse_quantity, q(text), signed=True)
    if not text.startswith("-"):
        amount, _ = parse_quantity(q(text), allow_zero=True)
        assert amount.is_zero and amount.micro == 0
        assert amount.value_in("kg") == "0"
    amount, _ = parse_quantity(q(text), allow_zero=True, signed=True)
    assert amount.micro == 0
    assert amount.value_in("g") == "0"


@pytest.mark.parametrize(
    ("text", "unit", "micro"),
    [
        ("0.000001", "g", 1),
        ("0.001", "mL", 1),
        ("0.000000000001", "t", 1),
        ("0.000000001", "m3", 1),
        ("1250.5", "kg", 1_250_500_000_000),
        ("100000", "t", MAX_MICRO),
        ("100000", "m3", 10**14),
        ("100000000000000", "mL", MAX_MICRO),
        ("99999999999.999999", "g", MAX_MICRO - 1),
    ],
)
def test_known_values(text, unit, micro):
    assert parse_quantity(q(text, unit))[0].micro == micro


# --- parsing: what is refused -------------------------------------------------------


@QUANTITIES
@given(
    micro=st.one_of(st.just(0), some_micros),
    unit=units,
    places=st.integers(min_value=1, max_value=6),
    data=st.data(),
)
def test_values_finer_than_one_micro_unit_are_refused_never_rounded(micro, unit, places, data):
    # micro + a fraction of one micro-unit with ``places`` decimals, none of them zero-padding
    fraction = data.draw(st.integers(min_value=1, max_value=10**places - 1))
    exact = micro + Fraction(fraction, 10**places)
    text = text_of(exact, unit)
    assert Fraction(Decimal(text)) * FACTOR[unit] == exact
    if len(text.split(".")[1]) > 12:
        # Not even a value the grammar allows (at most 12 decimals).
        refused("quantity_invalid", parse_quantity, q(text, unit))
        return
    error = refused("quantity_too_precise", parse_quantity, q(text, unit))
    assert error.field_errors[0].field == "quantity.value"
    refused("quantity_too_precise", parse_quantity, q("-" + text, unit), signed=True)
    refused("quantity_too_precise", parse_quantity, q(text, unit), allow_zero=True)


@pytest.mark.parametrize(
    ("text", "unit"),
    [
        ("0.0000001", "g"),
        ("1.0000005", "g"),
        ("0.0000000001", "kg"),
        ("0.0001", "mL"),
        ("0.0000000001", "L"),
        ("0.0000000001", "m3"),
        ("1.000000000001", "m3"),
    ],
)
def test_too_precise_examples(text, unit):
    refused("quantity_too_precise", parse_quantity, q(text, unit))
    refused("quantity_too_precise", parse_quantity, q("-" + text, unit), signed=True)


@QUANTITIES
@given(micro=st.integers(min_value=MAX_MICRO + 1, max_value=10**25), unit=units)
def test_implausibly_large_values_are_refused(micro, unit):
    text = text_of(micro, unit)
    refused("quantity_invalid", parse_quantity, q(text, unit))
    refused("quantity_invalid", parse_quantity, q("-" + text, unit), signed=True)


NOT_DECIMAL_STRINGS = [
    "",
    " ",
    "1 ",
    " 1",
    "1\n",
    "\t1",
    "1 000",
    "1,5",
    "1_000",
    "+1",
    "--1",
    "- 1",
    ".5",
    "5.",
    "-.5",
    "01",
    "00.5",
    "-01",
    "1e3",
    "1E3",
    "1e-3",
    "1.5e2",
    "0x10",
    "NaN",
    "nan",
    "Infinity",
    "-Infinity",
    "inf",
    "１",  # a full-width digit
    "١٢",  # Arabic-Indic digits
    "1.0000000000001",  # 13 decimals
    "1234567890123456789",  # 19 integer digits
    "½",
    "1/2",
    "1.2.3",
]


@pytest.mark.parametrize("text", NOT_DECIMAL_STRINGS)
def test_anything_but_a_plain_decimal_string_is_refused(text):
    for unit in UNITS:
        error = refused("quantity_invalid", parse_quantity, q(text, unit))
        assert error.field_errors[0].field == "quantity.value"
        refused("quantity_invalid", parse_quantity, q(text, unit), signed=True, allow_zero=True)


@pytest.mark.parametrize(
    "value",
    [
        *(1, 0, -1, 1.5, 0.1, 1e3, float("nan"), float("inf"), True, False, None),
        *(Decimal("1.5"), [], ["1"], {"value": "1"}, b"1"),
    ],
)
def test_json_numbers_and_other_types_are_never_values(value):
    error = refused("quantity_invalid", parse_quantity, q(value), signed=True, allow_zero=True)
    assert error.field_errors[0].field == "quantity.value"


@QUANTITIES
@given(value=st.one_of(st.floats(), st.integers(), st.decimals(), st.booleans(), st.none()))
def test_no_number_type_is_ever_accepted(value):
    refused("quantity_invalid", parse_quantity, q(value), signed=True, allow_zero=True)


UNKNOWN_UNITS = ["G", "KG", "Kg", "kilogram", "mg", "µg", "l", "ml", "ML", "M3", "m³", "lb"]
UNKNOWN_UNITS += ["", " kg", "kg ", "gal", "oz"]


@pytest.mark.parametrize("unit", [*UNKNOWN_UNITS, None, 1, 1.0, True, ["kg"], {"u": "kg"}])
def test_unknown_units_are_refused(unit):
    error = refused("unit_invalid", parse_quantity, q("1", unit))
    assert error.field_errors[0].field == "quantity.unit"
    # The unit is checked first: a bad value with a bad unit names the unit.
    refused("unit_invalid", parse_quantity, q(1.5, unit))


@pytest.mark.parametrize(
    "data",
    [
        None,
        "1 kg",
        1,
        ["1", "kg"],
        {},
        {"value": "1"},
        {"unit": "kg"},
        {"value": "1", "unit": "kg", "extra": "x"},
        {"Value": "1", "unit": "kg"},
    ],
)
def test_a_quantity_is_exactly_value_and_unit(data):
    error = refused("quantity_invalid", parse_quantity, data, "parts.3")
    assert error.field_errors[0].field == "parts.3"


def test_field_names_follow_the_caller():
    error = refused("quantity_too_precise", parse_quantity, q("0.0000001", "g"), "received")
    assert error.field_errors[0].field == "received.value"
    error = refused("unit_invalid", parse_quantity, q("1", "lb"), "received")
    assert error.field_errors[0].field == "received.unit"


# --- amounts ------------------------------------------------------------------------


@given(a=st.integers(-MAX_MICRO, MAX_MICRO), b=st.integers(-MAX_MICRO, MAX_MICRO))
def test_amount_arithmetic_is_integer_arithmetic(a, b):
    assert Amount(MASS, a) + Amount(MASS, b) == Amount(MASS, a + b)
    assert Amount(VOLUME, a) - Amount(VOLUME, b) == Amount(VOLUME, a - b)
    with pytest.raises(ValueError):
        Amount(MASS, a) + Amount(VOLUME, b)
    with pytest.raises(ValueError):
        Amount(VOLUME, a) - Amount(MASS, b)


def test_an_amount_is_never_written_in_another_dimension():
    with pytest.raises(ValueError):
        Amount(MASS, 1).value_in("L")
    with pytest.raises(ValueError):
        Amount(VOLUME, 1).as_json("kg")


@QUANTITIES
@given(
    value=st.decimals(allow_nan=False, allow_infinity=False, places=None).filter(
        lambda d: abs(d.adjusted()) < 40
    )
)
def test_decimal_text_is_plain_and_exact(value):
    with localcontext() as context:
        context.prec = 60
        if len(value.normalize().as_tuple().digits) > 60:
            return
    text = decimal_text(value)
    assert "e" not in text.lower()
    assert Decimal(text) == value
    if "." in text:
        assert not text.endswith("0") and not text.endswith(".")
    assert text != "-0"


# --- densities: exact or refused ----------------------------------------------------

# Density strings as parse_factor accepts them: up to 6 integer digits, up to 9 decimals.
densities = st.builds(
    lambda whole, frac, places: Decimal(whole) + Decimal(frac % 10**places).scaleb(-places),
    st.integers(min_value=0, max_value=999_999),
    st.integers(min_value=0, max_value=999_999_999),
    st.sampled_from([0, 1, 2, 3, 4, 9]),
).filter(lambda d: d > 0)
plausible_densities = st.one_of(
    st.sampled_from([Decimal(s) for s in ("1", "0.79", "1.08", "1.84", "13.534", "0.001")]),
    densities.filter(lambda d: d <= 25),
    densities,
)


def expect_exact_or_refused(result_micro: Fraction, call, *args) -> Amount | None:
    """``call`` returns exactly ``result_micro`` when that is a whole number of micro-units,
    and refuses otherwise: it never rounds, however many digits the product has."""
    if result_micro.denominator == 1:
        return call(*args)
    refused("quantity_too_precise", call, *args)
    return None


@QUANTITIES
@given(micro=some_micros, density=plausible_densities)
@example(micro=1, density=Decimal("1.0000001"))
@example(micro=10**17, density=Decimal("25"))
@example(micro=99_999_999_999_999_999, density=Decimal("999999.000000001"))
def test_mass_of_a_volume_is_exact_or_refused(micro, density):
    expected = Fraction(micro) * Fraction(density) * 1000  # µL × kg/L → µg
    mass = expect_exact_or_refused(expected, mass_of, Amount(VOLUME, micro), density)
    if mass is not None:
        assert mass == Amount(MASS, int(expected))
        assert in_dimension(Amount(VOLUME, micro), MASS, density) == mass


@QUANTITIES
@given(micro=some_micros, density=plausible_densities)
@example(micro=1, density=Decimal("0.000000001"))
@example(micro=10**17, density=Decimal("0.000000001"))
@example(micro=3, density=Decimal("3"))
def test_volume_of_a_mass_is_exact_or_refused(micro, density):
    expected = Fraction(micro) / (Fraction(density) * 1000)  # µg ÷ (kg/L) → µL
    volume = expect_exact_or_refused(expected, in_dimension, Amount(MASS, micro), VOLUME, density)
    if volume is not None:
        assert volume == Amount(VOLUME, int(expected))
        # Back again, exactly where we started.
        assert mass_of(volume, density) == Amount(MASS, micro)


@QUANTITIES
@given(micro=some_micros, density=st.one_of(st.none(), plausible_densities))
def test_a_quantity_in_its_own_dimension_is_never_converted(micro, density):
    for dimension in (MASS, VOLUME):
        amount = Amount(dimension, micro)
        assert in_dimension(amount, dimension, density) is amount
    assert mass_of(Amount(MASS, micro), density) == Amount(MASS, micro)


def test_crossing_dimensions_needs_a_density():
    refused("density_required", mass_of, Amount(VOLUME, 1), None)
    refused("density_required", in_dimension, Amount(VOLUME, 1), MASS, None)
    refused("density_required", in_dimension, Amount(MASS, 1), VOLUME, None)


def test_known_conversions():
    # 1 L of water is 1 kg; 1 mL at 1.08 kg/L is 1.08 g.
    assert mass_of(Amount(VOLUME, 10**6), Decimal(1)) == Amount(MASS, 10**9)
    assert mass_of(Amount(VOLUME, 10**3), Decimal("1.08")) == Amount(MASS, 1_080_000)
    assert in_dimension(Amount(MASS, 1_080_000), VOLUME, Decimal("1.08")) == Amount(VOLUME, 1000)
    # 1 µL at 1.0000001 kg/L is 1000.0001 µg: refused, not rounded to 1000.
    refused("quantity_too_precise", mass_of, Amount(VOLUME, 1), Decimal("1.0000001"))
    # 1 µg at 3 kg/L is a third of a microlitre.
    refused("quantity_too_precise", in_dimension, Amount(MASS, 1), VOLUME, Decimal(3))


# --- pure substance -----------------------------------------------------------------

concentrations = st.one_of(
    st.sampled_from([Decimal(s) for s in ("100", "98.5", "0.000000001", "33.333333333")]),
    densities.filter(lambda d: d <= 100),
)


@QUANTITIES
@given(micro=st.one_of(st.just(0), some_micros), concentration=concentrations)
def test_pure_grams_of_a_mass_is_mass_times_concentration_exactly(micro, concentration):
    grams = pure_grams(Amount(MASS, micro), concentration, None)
    with localcontext() as context:
        context.prec = 100
        expected = Decimal(micro) * concentration / Decimal(100) / Decimal(10**6)
    assert grams == expected
    assert Fraction(grams) == Fraction(micro) * Fraction(concentration) / 100 / 10**6
    # It writes as a plain decimal that reads back as the same number.
    assert Decimal(decimal_text(grams)) == grams
    if concentration == 100:
        assert decimal_text(grams) == Amount(MASS, micro).value_in("g")


def test_pure_grams_of_a_volume_needs_its_density():
    assert pure_grams(Amount(VOLUME, 1), Decimal(100), None) is None
    # 1 L at 1.5 kg/L, 40 % w/w: 600 g of the substance.
    assert pure_grams(Amount(VOLUME, 10**6), Decimal(40), Decimal("1.5")) == 600


# --- factors (concentrations, densities) --------------------------------------------


@QUANTITIES
@given(density=densities)
def test_factors_parse_exactly(density):
    text = decimal_text(density)
    assert parse_factor(text, "density_kg_per_l") == density
    if density > 25:
        refused("factor_invalid", parse_factor, text, "d", maximum=Decimal(25))
    else:
        assert parse_factor(text, "d", maximum=Decimal(25)) == density


@pytest.mark.parametrize(
    "value",
    [
        *("0", "0.0", "-1", "1e2", " 1", "1 ", "+1", ".5", "1.", "01", "1.0000000001"),
        *("1234567", "NaN", "Infinity", "", 1, 1.5, None, True, Decimal("1")),
    ],
)
def test_bad_factors_are_refused(value):
    error = refused("factor_invalid", parse_factor, value, "concentration_pct")
    assert error.field_errors[0].field == "concentration_pct"


def test_factor_maximum_is_inclusive():
    assert parse_factor("100", "c", maximum=Decimal(100)) == 100
    refused("factor_invalid", parse_factor, "100.000000001", "c", maximum=Decimal(100))


def test_pure_grams_is_exact_even_when_not_a_whole_microgram():
    litre, _ = parse_quantity({"value": "1", "unit": "mL"})
    assert pure_grams(litre, Decimal("50"), Decimal("1.0000001")) == Decimal("0.50000005")
    assert pure_grams(litre, Decimal("50"), None) is None
