"""Units as types, stored as exact integers so sums never drift.

Energy is kept in microjoules, money in pico-units of the sheet's currency (1e-12: a CPU
inference costs about 1e-8 USD, so coarser units would round it away), CO2 in nanograms.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

JOULES_PER_KWH = Decimal(3_600_000)
PICO = Decimal(10) ** 12


@dataclass(frozen=True, order=True)
class Energy:
    """An amount of energy, exact to the microjoule."""

    microjoules: int

    @classmethod
    def from_joules(cls, joules: float | Decimal) -> Energy:
        return cls(_round(Decimal(str(joules)) * 1_000_000))

    @classmethod
    def from_millijoules(cls, millijoules: int) -> Energy:
        return cls(int(millijoules) * 1000)

    @classmethod
    def from_microjoules(cls, microjoules: int) -> Energy:
        return cls(int(microjoules))

    @classmethod
    def from_power_and_time(cls, *, watts: float | Decimal, seconds: float) -> Energy:
        return cls(_round(Decimal(str(watts)) * Decimal(str(seconds)) * 1_000_000))

    @property
    def joules(self) -> float:
        return self.microjoules / 1_000_000

    @property
    def kwh(self) -> Decimal:
        return Decimal(self.microjoules) / 1_000_000 / JOULES_PER_KWH

    def __add__(self, other: Energy) -> Energy:
        return Energy(self.microjoules + other.microjoules)

    def __sub__(self, other: Energy) -> Energy:
        return Energy(self.microjoules - other.microjoules)


@dataclass(frozen=True, order=True)
class Money:
    """An amount of money, exact to 1e-12 of the currency unit."""

    pico: int

    @classmethod
    def from_decimal(cls, amount: Decimal | str | int) -> Money:
        return cls(_round(Decimal(amount) * PICO))

    @classmethod
    def from_pico(cls, pico: int) -> Money:
        return cls(int(pico))

    @classmethod
    def zero(cls) -> Money:
        return cls(0)

    @property
    def amount(self) -> Decimal:
        return Decimal(self.pico) / PICO

    def __add__(self, other: Money) -> Money:
        return Money(self.pico + other.pico)

    def __sub__(self, other: Money) -> Money:
        return Money(self.pico - other.pico)


@dataclass(frozen=True, order=True)
class Carbon:
    """A mass of CO2-equivalent, exact to the nanogram."""

    nanograms: int

    @classmethod
    def from_grams(cls, grams: float | Decimal) -> Carbon:
        return cls(_round(Decimal(str(grams)) * 1_000_000_000))

    @classmethod
    def from_energy(cls, energy: Energy, *, grams_per_kwh: Decimal) -> Carbon:
        return cls(_round(energy.kwh * grams_per_kwh * 1_000_000_000))

    @property
    def grams(self) -> float:
        return self.nanograms / 1_000_000_000

    def __add__(self, other: Carbon) -> Carbon:
        return Carbon(self.nanograms + other.nanograms)


def _round(value: Decimal) -> int:
    return int(value.to_integral_value(rounding=ROUND_HALF_EVEN))
