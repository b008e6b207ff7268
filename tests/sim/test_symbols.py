"""The default symbol specifications, sessions, and specs declared from configuration."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from mt5gateway.sim.symbols import CATALOGUE, DEFAULT_SYMBOLS, SessionKind, spec_from_dict
from mt5gateway.terminal import constants as c

MONDAY = 1_763_337_600  # 2025-11-17 00:00 UTC
DAY = 86_400


def test_default_symbols_are_the_fifteen_of_the_spec() -> None:
    assert sorted(DEFAULT_SYMBOLS) == [
        "AUDJPY", "AUDUSD", "BTCUSD", "ETHUSD", "EURUSD", "GBPJPY", "GBPUSD", "NDX100",
        "NZDUSD", "US30", "USDCAD", "USDCHF", "USDJPY", "XAGUSD", "XAUUSD",
    ]  # fmt: skip


def test_catalogue_is_the_usual_mt5_one() -> None:
    assert DEFAULT_SYMBOLS.items() <= CATALOGUE.items()
    forex = {name for name, spec in CATALOGUE.items() if spec.session is SessionKind.FOREX}
    currencies = ("EUR", "GBP", "AUD", "NZD", "USD", "CAD", "CHF", "JPY")  # the market's quoting order
    pairs = {a + b for i, a in enumerate(currencies) for b in currencies[i + 1 :]}
    assert len(forex) == 28 and forex == pairs
    by_kind = {kind: {n for n, s in CATALOGUE.items() if s.session is kind} for kind in SessionKind}
    assert by_kind[SessionKind.METAL] == {"XAUUSD", "XAGUSD"}
    assert {"US30", "US500", "NDX100", "GER40", "UK100", "JP225"} <= by_kind[SessionKind.INDEX]
    assert {"BTCUSD", "ETHUSD"} < by_kind[SessionKind.CRYPTO]
    assert {CATALOGUE[n].currency_profit for n in ("GER40", "UK100", "JP225")} == {"EUR", "GBP", "JPY"}


@pytest.mark.parametrize("name", sorted(CATALOGUE))
def test_catalogue_spec_is_consistent(name: str) -> None:
    spec = CATALOGUE[name]
    assert spec.name == name and spec.path.endswith("\\" + name) and spec.description
    assert spec.point == pytest.approx(10.0**-spec.digits)
    assert spec.tick_points >= 1
    assert 0 < spec.volume_min <= spec.volume_step * 100 <= spec.volume_max * 100
    assert spec.spread > 0 and spec.start_price > 0 and 0.03 < spec.annual_volatility < 1.5
    assert spec.currency_profit in {"USD", "JPY", "CAD", "CHF", "GBP", "EUR", "AUD", "NZD"}
    assert spec.currency_margin == (
        spec.currency_base if spec.session is SessionKind.FOREX else spec.currency_profit
    )
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


def test_index_session_keeps_futures_hours() -> None:
    # Sunday 18:00 to Friday 17:00 New York, with an hour's pause at the 17:00 rollover
    sessions = DEFAULT_SYMBOLS["US30"].sessions
    assert not sessions.is_open(MONDAY + 3600 - 1)
    assert sessions.is_open(MONDAY + 3600)
    assert sessions.is_open(MONDAY + DAY - 60)
    assert not sessions.is_open(MONDAY + DAY)
    assert sessions.is_open(MONDAY + 4 * DAY + DAY - 60)  # Friday 23:59
    assert not sessions.is_open(MONDAY + 5 * DAY + 12 * 3600)
    # the European indices follow Eurex: 01:10 to 22:00 Frankfurt time
    german = CATALOGUE["GER40"].sessions
    assert not german.is_open(MONDAY + 2 * 3600 + 9 * 60) and german.is_open(MONDAY + 2 * 3600 + 10 * 60)
    assert german.is_open(MONDAY + 23 * 3600 - 60) and not german.is_open(MONDAY + 23 * 3600)


def test_metals_pause_an_hour_at_the_rollover() -> None:
    sessions = DEFAULT_SYMBOLS["XAUUSD"].sessions
    assert not sessions.is_open(MONDAY + DAY + 30 * 60) and sessions.is_open(MONDAY + DAY + 3600)
    assert sessions.is_open(MONDAY + DAY - 60)


def test_crypto_trades_every_minute() -> None:
    times = MONDAY + 60 * np.arange(7 * 1440)
    assert DEFAULT_SYMBOLS["BTCUSD"].sessions.open_mask(times).all()


@pytest.mark.parametrize("name", ["EURUSD", "US30", "XAUUSD"])
def test_open_mask_agrees_with_is_open(name: str) -> None:
    sessions = DEFAULT_SYMBOLS[name].sessions
    times = MONDAY + np.random.default_rng(3).integers(-3 * DAY, 10 * DAY, 2_000)
    assert sessions.open_mask(times).tolist() == [sessions.is_open(int(t)) for t in times]


def test_session_minutes_of_a_day() -> None:
    assert len(DEFAULT_SYMBOLS["US30"].sessions.minutes(MONDAY // DAY)) == 23 * 60
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
