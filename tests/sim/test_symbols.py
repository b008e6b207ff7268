"""The default symbol specifications, sessions, and specs declared from configuration."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from mt5gateway.sim.symbols import DEFAULT_SYMBOLS, SessionKind, spec_from_dict
from mt5gateway.terminal import constants as c

MONDAY = 1_763_337_600  # 2025-11-17 00:00 UTC
DAY = 86_400


def test_default_symbols_are_the_fifteen_of_the_spec() -> None:
    assert sorted(DEFAULT_SYMBOLS) == [
        "AUDJPY", "AUDUSD", "BTCUSD", "ETHUSD", "EURUSD", "GBPJPY", "GBPUSD", "NDX100",
        "NZDUSD", "US30", "USDCAD", "USDCHF", "USDJPY", "XAGUSD", "XAUUSD",
    ]  # fmt: skip


@pytest.mark.parametrize("name", sorted(DEFAULT_SYMBOLS))
def test_default_spec_is_consistent(name: str) -> None:
    spec = DEFAULT_SYMBOLS[name]
    assert spec.name == name and spec.path.endswith("\\" + name) and spec.description
    assert spec.point == pytest.approx(10.0**-spec.digits)
    assert spec.tick_points >= 1
    assert 0 < spec.volume_min <= spec.volume_step * 100 <= spec.volume_max * 100
    assert spec.spread > 0 and spec.start_price > 0 and 0.03 < spec.annual_volatility < 1.5
    assert spec.currency_profit in {"USD", "JPY", "CAD", "CHF"}
    expected_mode = {
        SessionKind.FOREX: c.SYMBOL_CALC_MODE_FOREX,
        SessionKind.METAL: c.SYMBOL_CALC_MODE_CFDLEVERAGE,
        SessionKind.CRYPTO: c.SYMBOL_CALC_MODE_CFDLEVERAGE,
        SessionKind.INDEX: c.SYMBOL_CALC_MODE_CFDLEVERAGE,
    }[spec.session]
    assert spec.calc_mode == expected_mode
    if spec.session is SessionKind.FOREX:
        assert (spec.currency_base, spec.currency_profit) == (name[:3], name[3:])
        assert spec.contract_size == 100_000 and spec.digits == (3 if name.endswith("JPY") else 5)


def test_forex_session_runs_monday_to_friday() -> None:
    sessions = DEFAULT_SYMBOLS["EURUSD"].sessions
    assert sessions.is_open(MONDAY)
    assert sessions.is_open(MONDAY + 4 * DAY + DAY - 60)  # Friday 23:59
    assert not sessions.is_open(MONDAY + 5 * DAY)  # Saturday 00:00
    assert not sessions.is_open(MONDAY - 60)  # Sunday 23:59


def test_index_session_keeps_cfd_hours() -> None:
    sessions = DEFAULT_SYMBOLS["US30"].sessions
    assert not sessions.is_open(MONDAY + 3600 - 1)
    assert sessions.is_open(MONDAY + 3600)
    assert sessions.is_open(MONDAY + 22 * 3600 - 60)
    assert not sessions.is_open(MONDAY + 22 * 3600)
    assert not sessions.is_open(MONDAY + 5 * DAY + 12 * 3600)


def test_crypto_trades_every_minute() -> None:
    times = MONDAY + 60 * np.arange(7 * 1440)
    assert DEFAULT_SYMBOLS["BTCUSD"].sessions.open_mask(times).all()


@pytest.mark.parametrize("name", ["EURUSD", "US30", "XAUUSD"])
def test_open_mask_agrees_with_is_open(name: str) -> None:
    sessions = DEFAULT_SYMBOLS[name].sessions
    times = MONDAY + np.random.default_rng(3).integers(-3 * DAY, 10 * DAY, 2_000)
    assert sessions.open_mask(times).tolist() == [sessions.is_open(int(t)) for t in times]


def test_session_minutes_of_a_day() -> None:
    assert len(DEFAULT_SYMBOLS["US30"].sessions.minutes(MONDAY // DAY)) == 21 * 60
    assert len(DEFAULT_SYMBOLS["EURUSD"].sessions.minutes(MONDAY // DAY - 1)) == 0


def test_spec_from_dict_like_an_existing_symbol() -> None:
    spec = spec_from_dict(
        {"like": "EURUSD", "name": "EURGBP", "currency_profit": "GBP", "calc_mode": "FOREX"}
    )
    assert spec.name == "EURGBP" and spec.currency_profit == "GBP"
    assert spec.contract_size == DEFAULT_SYMBOLS["EURUSD"].contract_size


def test_spec_from_dict_with_every_field() -> None:
    fields = {
        f.name: getattr(DEFAULT_SYMBOLS["US30"], f.name)
        for f in dataclasses.fields(DEFAULT_SYMBOLS["US30"])
        if f.init
    }
    fields.update(name="GER40", session="index", calc_mode="SYMBOL_CALC_MODE_CFDINDEX", currency_base="EUR")
    spec = spec_from_dict(fields)
    assert spec.session is SessionKind.INDEX and spec.sessions.is_open(MONDAY + 3600)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"like": "EURUSD", "name": "X", "colour": "red"}, "unknown symbol fields"),
        ({"like": "NOPE", "name": "X"}, "unknown symbol"),
        ({"like": "EURUSD", "name": "X", "calc_mode": "BARTER"}, "calc mode"),
        ({"like": "EURUSD"}, "own 'name'"),
        ({"name": "X", "digits": 5}, "lacks fields"),
        ({"like": "EURUSD", "name": "X", "tick_size": 0.000015}, "whole number of points"),
    ],
)
def test_spec_from_dict_rejects_bad_input(data: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        spec_from_dict(data)
