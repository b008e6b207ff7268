"""Where recorded history comes from: anything with the pool's ``call_symbol``, and typed fetches.

``TerminalPool`` is the usual source. ``DirectTerminal`` wraps one in-process ``TerminalAPI`` (a
``SimTerminal``, or the official module in a script) in the same interface, for scripts and benches
that need no worker processes. The fetch helpers turn the module's ``None`` into ``TerminalError``
and use half-open ranges like the store.
"""

from __future__ import annotations

from typing import Any, Protocol

from numpy.typing import NDArray

from mt5gateway.errors import TerminalError
from mt5gateway.terminal import constants as c
from mt5gateway.terminal.api import TerminalAPI
from mt5gateway.terminal.dtypes import empty_rates

__all__ = ["DirectTerminal", "SymbolCaller", "fetch_rates", "fetch_ticks", "terminal_now_msc"]


class SymbolCaller(Protocol):
    """Calls one of the 32 API functions on the terminal serving a symbol (``TerminalPool.call_symbol``)."""

    async def call_symbol(self, symbol: str, function: str, *args: Any, **kwargs: Any) -> Any: ...


class DirectTerminal:
    """A ``SymbolCaller`` over one terminal in this process, serving every symbol it knows."""

    def __init__(self, terminal: TerminalAPI) -> None:
        self.terminal = terminal

    async def call_symbol(self, symbol: str, function: str, *args: Any, **kwargs: Any) -> Any:
        """Run ``function(*args, **kwargs)`` on the terminal (``symbol`` only routes, as in the pool)."""
        return getattr(self.terminal, function)(*args, **kwargs)


def _checked(result: Any, function: str, symbol: str) -> Any:
    if result is None:
        raise TerminalError(f"the terminal could not answer {function} for {symbol}", symbol=symbol)
    return result


async def fetch_ticks(source: SymbolCaller, symbol: str, from_msc: int, to_msc: int) -> NDArray[Any]:
    """The terminal's ticks with ``from_msc <= time_msc < to_msc`` (every flag), in order."""
    # The module takes whole seconds: ask for the covering seconds and trim to the milliseconds.
    ticks = _checked(
        await source.call_symbol(
            symbol, "copy_ticks_range", symbol, from_msc // 1000, -(-to_msc // 1000), c.COPY_TICKS_ALL
        ),
        "copy_ticks_range",
        symbol,
    )
    times = ticks["time_msc"]
    selected: NDArray[Any] = ticks[(times >= from_msc) & (times < to_msc)]
    return selected


async def fetch_rates(
    source: SymbolCaller, symbol: str, timeframe: int, from_time: int, to_time: int
) -> NDArray[Any]:
    """The terminal's bars opened in ``[from_time, to_time)``, oldest first."""
    if to_time <= from_time:
        return empty_rates()
    rates: NDArray[Any] = _checked(
        await source.call_symbol(symbol, "copy_rates_range", symbol, timeframe, from_time, to_time - 1),
        "copy_rates_range",
        symbol,
    )
    return rates


async def terminal_now_msc(source: SymbolCaller, symbol: str) -> int:
    """The time of the terminal's newest tick of ``symbol`` (its notion of now), epoch ms."""
    tick = _checked(await source.call_symbol(symbol, "symbol_info_tick", symbol), "symbol_info_tick", symbol)
    return int(tick.time_msc)
