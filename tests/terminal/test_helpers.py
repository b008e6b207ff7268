"""``Buy``, ``Sell`` and ``Close`` against the official package's own helpers, run beside ours.

The official helpers are Python in the wheel's ``__init__.py``: the test takes their definitions at
test time and runs them over one simulated terminal while ours run over a twin (same seed, clock and
accounts), then compares every result and the positions left.
"""

from __future__ import annotations

import ast
import inspect
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import mt5gateway.sim as sim_module
from mt5gateway.sim.clock import ManualClock
from mt5gateway.sim.terminal import SimConfig, SimTerminal
from mt5gateway.terminal import constants as c
from mt5gateway.terminal.api import API_FUNCTIONS
from mt5gateway.terminal.helpers import HELPERS, bound

from ..sim.terminal_fixtures import SEED, START_MSC
from .official_wheel import OfficialWheel


def _official_definitions(official: OfficialWheel) -> dict[str, ast.FunctionDef]:
    tree = ast.parse(official.init_source)
    return {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}


def _shape(function: Callable[..., Any]) -> list[tuple[str, str, object]]:
    return [
        (p.name, p.kind.name, None if p.default is inspect.Parameter.empty else p.default)
        for p in inspect.signature(function).parameters.values()
    ]


def _official_shape(definition: ast.FunctionDef) -> list[tuple[str, str, object]]:
    args = definition.args
    positional = [(a.arg, "POSITIONAL_OR_KEYWORD") for a in args.args]
    defaults = [None] * (len(positional) - len(args.defaults)) + [ast.literal_eval(d) for d in args.defaults]
    keyword = [(a.arg, "KEYWORD_ONLY") for a in args.kwonlyargs]
    keyword_defaults = [None if d is None else ast.literal_eval(d) for d in args.kw_defaults]
    return [(*p, d) for p, d in zip(positional, defaults, strict=True)] + [
        (*k, d) for k, d in zip(keyword, keyword_defaults, strict=True)
    ]


@pytest.mark.parametrize("name", HELPERS)
def test_signatures_are_the_official_ones(official: OfficialWheel, name: str) -> None:
    theirs = _official_shape(_official_definitions(official)[name])
    assert _shape(bound(SimTerminal())[name]) == theirs
    assert _shape(getattr(sim_module, name)) == theirs
    assert name in sim_module.__all__


def _terminal() -> SimTerminal:
    terminal = SimTerminal(SimConfig(seed=SEED, clock=ManualClock(START_MSC), db_path=":memory:"))
    assert terminal.initialize(), terminal.last_error()
    return terminal


class _Twins:
    """The official helpers over one terminal, ours over its twin."""

    def __init__(self, official: OfficialWheel) -> None:
        self.theirs, self.ours = _terminal(), _terminal()
        namespace: dict[str, Any] = {name: getattr(c, name) for name in dir(c) if name.isupper()}
        namespace.update({name: getattr(self.theirs, name) for name in API_FUNCTIONS})
        definitions = list(_official_definitions(official).values())
        exec(compile(ast.Module(definitions, []), "<MetaTrader5 wheel>", "exec"), namespace)
        self.official = {name: namespace[name] for name in HELPERS}
        self.mine = bound(self.ours)

    def both(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """Call helper ``name`` on both sides; their results and positions must be the same."""
        theirs = self.official[name](*args, **kwargs)
        ours = self.mine[name](*args, **kwargs)
        assert ours == theirs, f"{name}{args}{kwargs}: ours {ours}, official {theirs}"
        assert self.ours.positions_get() == self.theirs.positions_get()
        return ours

    def on_both(self, action: Callable[[SimTerminal], Any]) -> None:
        action(self.theirs)
        action(self.ours)

    def close(self) -> None:
        self.on_both(SimTerminal.close)


@pytest.fixture
def twins(official: OfficialWheel) -> Iterator[_Twins]:
    pair = _Twins(official)
    yield pair
    pair.close()


def test_buy_and_sell_at_market_and_at_a_price(twins: _Twins) -> None:
    bought = twins.both("Buy", "EURUSD", 0.1)
    assert bought.retcode == c.TRADE_RETCODE_DONE and bought.request.deviation == 10
    assert bought.price == twins.ours.symbol_info_tick("EURUSD").ask
    sold = twins.both("Sell", "GBPUSD", 0.2, comment="by helper")
    assert sold.retcode == c.TRADE_RETCODE_DONE and sold.request.comment == "by helper"
    tick = twins.ours.symbol_info_tick("USDJPY")
    assert twins.both("Buy", "USDJPY", 0.1, tick.ask).retcode == c.TRADE_RETCODE_DONE
    stale = twins.both("Sell", "USDJPY", 0.1, tick.bid * 0.9)  # far off the market
    assert stale.retcode != c.TRADE_RETCODE_DONE
    # a sell naming the buy position closes it (hedging account)
    closing = twins.both("Sell", "EURUSD", 0.1, ticket=bought.order)
    assert closing.retcode == c.TRADE_RETCODE_DONE
    assert twins.ours.positions_get(ticket=bought.order) == ()
    assert twins.both("Buy", "EURUSD", 0.015).retcode == c.TRADE_RETCODE_INVALID_VOLUME
    assert twins.both("Buy", "NOSUCH", 0.1, 1.0).retcode == c.TRADE_RETCODE_INVALID


def test_close_a_symbol_or_one_ticket(twins: _Twins) -> None:
    assert twins.both("Close", "EURUSD") is False  # nothing to close
    first = twins.both("Buy", "EURUSD", 0.1)
    twins.both("Sell", "EURUSD", 0.3)
    other = twins.both("Buy", "GBPUSD", 0.1)
    assert twins.both("Close", "GBPUSD", ticket=other.order, comment="one") is True
    assert len(twins.ours.positions_get()) == 2
    assert twins.both("Close", "EURUSD") is True
    assert twins.ours.positions_get() == ()
    deals = twins.ours.history_deals_get(position=first.order)
    assert [d.entry for d in deals] == [c.DEAL_ENTRY_IN, c.DEAL_ENTRY_OUT]


def test_requotes_are_retried_and_close_reports_partial_success(twins: _Twins) -> None:
    seen: set[object] = set()
    for _ in range(20):
        twins.on_both(lambda t: t.control("requote_rate", rate=0.0))
        for _ in range(4):
            twins.both("Buy", "EURUSD", 0.1)
        twins.on_both(lambda t: t.control("requote_rate", rate=0.75))
        outcome = twins.both("Close", "EURUSD")
        left = len(twins.ours.positions_get(symbol="EURUSD"))
        assert outcome == {0: True, 4: False}.get(left, "Partially")
        seen.add(outcome)
        if seen == {True, False, "Partially"}:
            break
    assert seen >= {True, "Partially"}
    twins.on_both(lambda t: t.control("requote_rate", rate=1.0))
    requoted = twins.both("Buy", "EURUSD", 0.1)
    assert requoted.retcode == c.TRADE_RETCODE_REQUOTE  # after 10 tries, the last answer


def test_helpers_fail_as_the_call_they_make(twins: _Twins) -> None:
    twins.on_both(SimTerminal.shutdown)
    assert twins.both("Buy", "EURUSD", 0.1, 1.1) is None
    assert twins.ours.last_error() == (c.RES_E_INTERNAL_FAIL_CONNECT, "No IPC connection")
    # Where the official helpers read a field of a failed call's None, ours answer None as well.
    assert twins.mine["Buy"]("EURUSD", 0.1) is None
    with pytest.raises(AttributeError):
        twins.official["Buy"]("EURUSD", 0.1)
    assert twins.mine["Close"]("EURUSD", ticket=1) is None
    assert twins.ours.last_error() == (c.RES_E_INTERNAL_FAIL_CONNECT, "No IPC connection")
    with pytest.raises(TypeError):
        twins.official["Close"]("EURUSD", ticket=1)
