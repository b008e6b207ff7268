"""Tiers: which symbols and timeframes a caller may use, checked before any terminal is asked.

A ``TierPolicy`` holds the configured tiers in order (the first is the default, the lowest); the
timeframes valid for the service are the union of every tier's, in ascending order of length.
Refusals are the errors the front end already understands (``TierDenied`` with the caller's tier,
the symbols and the timeframes it may use, ``upgrade_required`` and the lowest tier that grants
access).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from mt5gateway.errors import BadRequest, InvalidTimeframe, TierDenied
from mt5gateway.sim.symbols import DEFAULT_SYMBOLS
from mt5gateway.terminal.timeframes import TIMEFRAMES

__all__ = ["DEFAULT_TIERS", "Tier", "TierPolicy"]


@dataclass(frozen=True)
class Tier:
    """A tier's name and what it grants, symbols and timeframes in the order they are listed."""

    name: str
    symbols: tuple[str, ...]
    timeframes: tuple[str, ...]


# The 15 default symbols, in the order the simulator declares them (alphabetical).
_ALL_SYMBOLS = tuple(DEFAULT_SYMBOLS)

DEFAULT_TIERS: tuple[Tier, ...] = (
    Tier("FREE", ("BTCUSD", "EURUSD", "USDJPY", "US30", "XAUUSD"), ("H1", "H4", "D1")),
    Tier("PRO", _ALL_SYMBOLS, ("M5", "M15", "M30", "H1", "H2", "H4", "H8", "H12", "D1")),
)


class TierPolicy:
    """The configured tiers and the checks every market endpoint runs."""

    def __init__(self, tiers: Iterable[Tier] = DEFAULT_TIERS) -> None:
        self.tiers: dict[str, Tier] = {tier.name.upper(): tier for tier in tiers}
        if not self.tiers:
            raise ValueError("at least one tier must be configured")
        for tier in self.tiers.values():
            unknown = [tf for tf in tier.timeframes if tf.upper() not in TIMEFRAMES]
            if unknown:
                raise ValueError(f"tier {tier.name} lists unknown timeframes {unknown}")
        self.default_tier = next(iter(self.tiers))
        served = {tf.upper() for tier in self.tiers.values() for tf in tier.timeframes}
        self.timeframes: tuple[str, ...] = tuple(tf for tf in TIMEFRAMES if tf in served)
        self._symbol_sets = {name: frozenset(t.symbols) for name, t in self.tiers.items()}
        self._timeframe_sets = {name: frozenset(t.timeframes) for name, t in self.tiers.items()}

    @classmethod
    def from_mapping(cls, tiers: Mapping[str, tuple[Iterable[str], Iterable[str]]]) -> TierPolicy:
        """``{"FREE": (symbols, timeframes), ...}`` in order -> a policy."""
        return cls(
            Tier(name.upper(), tuple(s.upper() for s in symbols), tuple(tf.upper() for tf in timeframes))
            for name, (symbols, timeframes) in tiers.items()
        )

    def tier(self, name: str | None) -> Tier:
        """The tier called ``name`` (any case); ``None`` means the default (lowest) tier."""
        if name is None:
            return self.tiers[self.default_tier]
        tier = self.tiers.get(name.strip().upper())
        if tier is None:
            raise BadRequest(
                f"Unknown tier {name}. Valid options {', '.join(self.tiers)}",
                field="X-User-Tier",
            )
        return tier

    def timeframe(self, name: str) -> str:
        """The canonical name of a timeframe the service offers; ``InvalidTimeframe`` otherwise."""
        canonical = name.upper()
        if canonical not in self.timeframes:
            raise InvalidTimeframe(
                f"Invalid timeframe {name}. Valid options {', '.join(self.timeframes)}",
                valid_timeframes=list(self.timeframes),
            )
        return canonical

    def check_symbol(self, tier: Tier, symbol: str) -> None:
        """Refuse a symbol the tier does not grant, naming the lowest tier that does."""
        if symbol not in self._symbol_sets[tier.name]:
            raise TierDenied(
                f"{tier.name} tier cannot access {symbol}",
                **self._refusal(tier, self._lowest_granting(symbol, self._symbol_sets)),
            )

    def check_timeframe(self, tier: Tier, timeframe: str) -> None:
        """Refuse a timeframe the tier does not grant, naming the lowest tier that does."""
        if timeframe not in self._timeframe_sets[tier.name]:
            raise TierDenied(
                f"{tier.name} tier cannot access {timeframe} timeframe",
                **self._refusal(tier, self._lowest_granting(timeframe, self._timeframe_sets)),
            )

    @staticmethod
    def _refusal(tier: Tier, required_tier: str | None) -> dict[str, object]:
        """A refusal's fields: both of what the tier may use (the original contract requires the symbols
        and shows the timeframes), that an upgrade is needed, and the lowest tier that grants it."""
        return {
            "tier": tier.name,
            "accessible_symbols": list(tier.symbols),
            "accessible_timeframes": list(tier.timeframes),
            "upgrade_required": True,
            "required_tier": required_tier,
        }

    @staticmethod
    def _lowest_granting(item: str, grants: Mapping[str, frozenset[str]]) -> str | None:
        return next((name for name, granted in grants.items() if item in granted), None)
