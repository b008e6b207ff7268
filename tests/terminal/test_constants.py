"""The contract against the official MetaTrader5 wheel, downloaded at test time (nothing committed)."""

from __future__ import annotations

import ast

import numpy as np
import pytest

from mt5gateway.terminal import RATES_DTYPE, TICKS_DTYPE, constants, records
from tests.shared_docs import shared_path

from .official_wheel import OfficialWheel


@pytest.fixture(scope="session")
def official_constants(official: OfficialWheel) -> dict[str, int]:
    """Name -> value of every constant assigned in the official wheel's ``__init__.py``."""
    found: dict[str, int] = {}
    for node in ast.parse(official.init_source).body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            name = node.targets[0].id
            if name.isupper():
                found[name] = eval(compile(ast.Expression(node.value), "<wheel>", "eval"))  # literals only
    assert len(found) > 200, "the wheel's layout changed: too few constants found"
    return found


def test_every_official_constant_has_same_name_and_value(official_constants: dict[str, int]) -> None:
    ours = {name: value for name, value in vars(constants).items() if name.isupper()}
    missing = sorted(set(official_constants) - set(ours))
    different = {n: (ours[n], v) for n, v in official_constants.items() if n in ours and ours[n] != v}
    assert missing == [], f"missing constants: {missing}"
    assert different == {}, f"constants with other values (ours, official): {different}"


def test_record_field_orders_match_spec() -> None:
    assert records.Tick._fields == (
        "time", "bid", "ask", "last", "volume", "time_msc", "flags", "volume_real",
    )  # fmt: skip
    assert records.TradeDeal._fields[:6] == ("ticket", "order", "time", "time_msc", "type", "entry")
    assert records.OrderSendResult._fields[-1] == "request"
    assert records.BookInfo._fields == ("type", "price", "volume", "volume_dbl")
    assert len(records.SymbolInfo._fields) == 96
    assert records.SymbolInfo._fields[:5] == ("custom", "chart_mode", "select", "visible", "session_deals")
    assert records.SymbolInfo._fields[-7:] == (
        "description",
        "exchange",
        "formula",
        "isin",
        "name",
        "page",
        "path",
    )
    assert len(records.AccountInfo._fields) == 28
    assert len(records.TerminalInfo._fields) == 22


def test_dtypes_match_module() -> None:
    assert RATES_DTYPE.names == (
        "time",
        "open",
        "high",
        "low",
        "close",
        "tick_volume",
        "spread",
        "real_volume",
    )
    assert RATES_DTYPE.itemsize == 8 * 5 + 8 + 4 + 8
    assert TICKS_DTYPE["flags"] == np.dtype("<u4")
    assert TICKS_DTYPE.names is not None and TICKS_DTYPE.names[5] == "time_msc"


def test_spec_field_orders_are_read_from_the_spec_file() -> None:
    """SPEC 4.1 lists field orders; each listed record must match ours exactly."""
    text = shared_path("SPEC.md").read_text()
    for name in ("Tick", "TradePosition", "TradeOrder", "TradeDeal", "OrderSendResult", "OrderCheckResult",
                 "TradeRequest", "BookInfo", "AccountInfo", "TerminalInfo"):  # fmt: skip
        start = text.index(f"- {name}: ")
        chunk = text[start + len(name) + 4 : text.index("\n- ", start + 1)]
        fields = tuple(f.strip() for f in chunk.replace("\n", " ").split(","))
        assert getattr(records, name)._fields == fields, name
