"""Margin, profit and swap in any currency, following MT5's calculation modes.

MT5 computes a symbol's margin in its margin currency and its profit and swap in its profit
currency, then converts into the account currency with the current prices of other symbols. The
formulas (MQL5 reference, "Margin requirements" / ENUM_SYMBOL_CALC_MODE):

- FOREX: ``volume x contract_size / leverage`` (margin currency)
- FOREX_NO_LEVERAGE: ``volume x contract_size``
- CFD: ``volume x contract_size x price`` (no account leverage; the simulator's symbols carry no
  margin rate, so it is 1)
- CFDINDEX: CFD ``x tick_price / tick_size``, that is ``x contract_size`` (1 for the indices)
- CFDLEVERAGE: ``volume x contract_size x price / leverage``
- profit, every mode: ``(close - open) x contract_size x volume`` for a buy, the negative for a sell
- swap in points: ``points x point x contract_size x volume`` (profit currency) per rollover

Conversion of an amount in currency X into A: with a symbol XA, multiply by its bid; with a symbol
AX, divide by its ask (selling X for A at the market); otherwise go through USD. This is a little
simpler than MT5, which picks bid or ask by the sign of the amount.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from mt5gateway.terminal import constants as c
from mt5gateway.terminal.records import Tick

from ..symbols import SymbolSpec

__all__ = ["ConversionError", "Pricing"]

_PIVOT = "USD"


class ConversionError(LookupError):
    """No symbol of the market converts one currency into another."""


class Pricing:
    """Margin, profit, swap and currency conversion against a market's current prices."""

    def __init__(self, specs: Mapping[str, SymbolSpec], last_tick: Callable[[str], Tick]) -> None:
        self._last_tick = last_tick
        # (base, quote) currency pair -> the symbol that trades it; currency conversion looks here.
        self._pairs: dict[tuple[str, str], str] = {}
        for name, spec in specs.items():
            if spec.currency_base != spec.currency_profit:
                self._pairs.setdefault((spec.currency_base, spec.currency_profit), name)

    def rate(self, from_currency: str, to_currency: str) -> float:
        """How many units of ``to_currency`` one unit of ``from_currency`` is worth now."""
        if from_currency == to_currency:
            return 1.0
        direct = self._pairs.get((from_currency, to_currency))
        if direct is not None:
            return float(self._last_tick(direct).bid)
        inverse = self._pairs.get((to_currency, from_currency))
        if inverse is not None:
            return 1.0 / float(self._last_tick(inverse).ask)
        if _PIVOT not in (from_currency, to_currency):
            return self.rate(from_currency, _PIVOT) * self.rate(_PIVOT, to_currency)
        raise ConversionError(f"no symbol converts {from_currency} into {to_currency}")

    def margin(self, spec: SymbolSpec, volume: float, price: float, leverage: int) -> float:
        """Margin for ``volume`` lots at ``price``, in the symbol's margin currency."""
        mode = spec.calc_mode
        notional_units = volume * spec.contract_size
        if mode == c.SYMBOL_CALC_MODE_FOREX:
            return notional_units / leverage
        if mode == c.SYMBOL_CALC_MODE_FOREX_NO_LEVERAGE:
            return notional_units
        if mode == c.SYMBOL_CALC_MODE_CFDLEVERAGE:
            return notional_units * price / leverage
        if mode == c.SYMBOL_CALC_MODE_CFDINDEX:
            # x tick price / tick size; a tick is worth tick_size x contract_size here.
            return notional_units * price * spec.contract_size
        # CFD and the exchange modes: the full notional value.
        return notional_units * price

    def margin_in(self, currency: str, spec: SymbolSpec, volume: float, price: float, leverage: int) -> float:
        """Margin converted into ``currency`` at the current rates."""
        return self.margin(spec, volume, price, leverage) * self.rate(spec.currency_margin, currency)

    @staticmethod
    def profit(spec: SymbolSpec, is_buy: bool, volume: float, price_open: float, price_close: float) -> float:
        """Profit of a trade in the symbol's profit currency."""
        move = price_close - price_open if is_buy else price_open - price_close
        return move * spec.contract_size * volume

    def profit_in(
        self,
        currency: str,
        spec: SymbolSpec,
        is_buy: bool,
        volume: float,
        price_open: float,
        price_close: float,
    ) -> float:
        """Profit converted into ``currency`` at the current rates."""
        amount = self.profit(spec, is_buy, volume, price_open, price_close)
        return amount * self.rate(spec.currency_profit, currency)

    def swap_in(self, currency: str, spec: SymbolSpec, is_buy: bool, volume: float) -> float:
        """One rollover's swap (points mode) for a position, in ``currency``."""
        points = spec.swap_long if is_buy else spec.swap_short
        amount = points * spec.point * spec.contract_size * volume
        return amount * self.rate(spec.currency_profit, currency)
