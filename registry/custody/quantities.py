"""Exact quantities: decimal strings with a unit, never floats.

Amounts are kept as whole numbers of micro-units of their dimension's base unit
(micrograms for mass, microlitres for volume), so they add, subtract and sum exactly in
SQL on every database. A value finer than one micro-unit is refused, never rounded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, localcontext
from typing import Any

from registry.errors import InvalidInput, message

MASS = "mass"
VOLUME = "volume"

# unit -> (dimension, micro-units per unit)
UNITS: dict[str, tuple[str, int]] = {
    "g": (MASS, 10**6),
    "kg": (MASS, 10**9),
    "t": (MASS, 10**12),
    "mL": (VOLUME, 10**3),
    "L": (VOLUME, 10**6),
    "m3": (VOLUME, 10**9),
}
BASE_UNIT = {MASS: "g", VOLUME: "L"}

# 10^17 micro-units: 100,000 t or 100,000 m3 in one quantity; sums stay inside 64 bits.
MAX_MICRO = 10**17
_VALUE = re.compile(r"-?(0|[1-9][0-9]{0,17})(\.[0-9]{1,12})?")
_FACTOR = re.compile(r"(0|[1-9][0-9]{0,5})(\.[0-9]{1,9})?")


@dataclass(frozen=True, order=True)
class Amount:
    """An exact amount of one dimension, in micro-units."""

    dimension: str
    micro: int

    def __add__(self, other: Amount) -> Amount:
        _same_dimension(self, other)
        return Amount(self.dimension, self.micro + other.micro)

    def __sub__(self, other: Amount) -> Amount:
        _same_dimension(self, other)
        return Amount(self.dimension, self.micro - other.micro)

    def __neg__(self) -> Amount:
        return Amount(self.dimension, -self.micro)

    @property
    def is_zero(self) -> bool:
        return self.micro == 0

    def value_in(self, unit: str) -> str:
        dimension, factor = UNITS[unit]
        if dimension != self.dimension:
            raise ValueError(f"cannot express {self.dimension} in {unit}")
        return decimal_text(Decimal(self.micro).scaleb(0) / factor)

    def as_json(self, unit: str | None = None) -> dict[str, str]:
        unit = unit or BASE_UNIT[self.dimension]
        return {"value": self.value_in(unit), "unit": unit}


def _same_dimension(a: Amount, b: Amount) -> None:
    if a.dimension != b.dimension:
        raise ValueError(f"cannot combine {a.dimension} with {b.dimension}")


def decimal_text(value: Decimal) -> str:
    """A plain decimal string: no exponent, no trailing zeros ('1000', '0.5', '12.25')."""
    with localcontext() as context:
        context.prec = 60
        text = format(value.normalize(context), "f")
    return "0" if text in {"-0", ""} else text


def parse_quantity(
    data: Any, field: str = "quantity", *, signed: bool = False, allow_zero: bool = False
) -> tuple[Amount, str]:
    """``{"value": "1250.5", "unit": "kg"}`` → (exact amount, the unit it was given in)."""
    if not isinstance(data, dict) or set(data) != {"value", "unit"}:
        raise InvalidInput(
            field,
            message(
                "A quantity is {shape}.", shape='{"value": "<decimal string>", "unit": "<unit>"}'
            ),
            "quantity_invalid",
        )
    value, unit = data["value"], data["unit"]
    if not isinstance(unit, str) or unit not in UNITS:
        raise InvalidInput(
            f"{field}.unit",
            message("unit must be one of {units}.", units=", ".join(UNITS)),
            "unit_invalid",
        )
    if not isinstance(value, str) or not _VALUE.fullmatch(value):
        raise InvalidInput(
            f"{field}.value",
            message('value is a decimal string such as "1250.5" (never a JSON number).'),
            "quantity_invalid",
        )
    if value.startswith("-") and not signed:
        raise InvalidInput(
            f"{field}.value", message("The quantity must be positive."), "quantity_invalid"
        )
    dimension, factor = UNITS[unit]
    micro = Decimal(value) * factor
    if micro != micro.to_integral_value():
        raise InvalidInput(
            f"{field}.value",
            message(
                "{value} {unit} is finer than one micro{base_unit}.",
                value=value,
                unit=unit,
                base_unit=BASE_UNIT[dimension],
            ),
            "quantity_too_precise",
        )
    amount = Amount(dimension, int(micro))
    if abs(amount.micro) > MAX_MICRO:
        raise InvalidInput(
            f"{field}.value", message("The quantity is implausibly large."), "quantity_invalid"
        )
    if amount.is_zero and not allow_zero:
        raise InvalidInput(
            f"{field}.value", message("The quantity must not be zero."), "quantity_invalid"
        )
    return amount, unit


def parse_factor(value: Any, field: str, *, maximum: Decimal | None = None) -> Decimal:
    """A positive decimal string such as a concentration (% w/w) or a density (kg/L)."""
    if not isinstance(value, str) or not _FACTOR.fullmatch(value) or Decimal(value) <= 0:
        raise InvalidInput(
            field, message('A positive decimal string, such as "98.5".'), "factor_invalid"
        )
    number = Decimal(value)
    if maximum is not None and number > maximum:
        raise InvalidInput(field, message("At most {maximum}.", maximum=maximum), "factor_invalid")
    return number


def mass_of(amount: Amount, density_kg_per_l: Decimal | None, field: str = "quantity") -> Amount:
    """The mass of ``amount``: itself for a mass, volume × density for a volume."""
    if amount.dimension == MASS:
        return amount
    if density_kg_per_l is None:
        raise InvalidInput(
            field,
            message("A volume can be turned into a mass only with a density."),
            "density_required",
        )
    # µL × kg/L = µL × 10^-6 L × density × 10^9 µg/kg = µL × density × 10^3 µg
    with localcontext() as context:
        context.prec = 60
        micrograms = Decimal(amount.micro) * density_kg_per_l * 1000
    if micrograms != micrograms.to_integral_value():
        raise InvalidInput(
            field, message("That volume has no exact mass at this density."), "quantity_too_precise"
        )
    return Amount(MASS, int(micrograms))


def in_dimension(
    amount: Amount, dimension: str, density_kg_per_l: Decimal | None, field: str = "quantity"
) -> Amount:
    """``amount`` expressed in ``dimension`` exactly, converting through the density."""
    if amount.dimension == dimension:
        return amount
    if dimension == MASS:
        return mass_of(amount, density_kg_per_l, field)
    if density_kg_per_l is None:
        raise InvalidInput(
            field,
            message("A mass can be turned into a volume only with a density."),
            "density_required",
        )
    with localcontext() as context:
        context.prec = 60
        microlitres = Decimal(amount.micro) / (density_kg_per_l * 1000)
    if microlitres != microlitres.to_integral_value():
        raise InvalidInput(
            field, message("That mass has no exact volume at this density."), "quantity_too_precise"
        )
    return Amount(VOLUME, int(microlitres))


def pure_grams(
    amount: Amount, concentration_pct: Decimal, density_kg_per_l: Decimal | None
) -> Decimal | None:
    """Pure-substance grams of ``amount``, exactly; None for a volume with no density.

    Unlike ``mass_of`` this is a report, not a stored quantity, so it need not be a whole
    number of micrograms.
    """
    if amount.dimension == VOLUME and density_kg_per_l is None:
        return None
    with localcontext() as context:
        context.prec = 60
        grams = Decimal(amount.micro) / 10**6
        if amount.dimension == VOLUME:
            grams = grams * density_kg_per_l * 1000  # L x kg/L x 1000 g/kg
        return grams * concentration_pct / 100
