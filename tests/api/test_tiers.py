"""Tier policy: the default tiers, canonical timeframes and the refusal bodies of issue 4."""

from __future__ import annotations

import pytest

from mt5gateway.errors import BadRequest, InvalidTimeframe, TierDenied
from mt5gateway.market.tiers import DEFAULT_TIERS, Tier, TierPolicy


def test_default_tiers_list_issue_symbols_and_timeframes_in_order() -> None:
    free, pro = DEFAULT_TIERS
    assert free.symbols == ("BTCUSD", "EURUSD", "USDJPY", "US30", "XAUUSD")
    assert free.timeframes == ("H1", "H4", "D1")
    assert len(pro.symbols) == 15
    assert pro.timeframes == ("M5", "M15", "M30", "H1", "H2", "H4", "H8", "H12", "D1")


def test_served_timeframes_are_the_union_shortest_first() -> None:
    policy = TierPolicy.from_mapping({"A": (["EURUSD"], ["D1", "M5"]), "B": (["EURUSD"], ["H1"])})
    assert policy.timeframes == ("M5", "H1", "D1")


def test_unknown_timeframe_is_invalid_with_valid_options_sentence() -> None:
    with pytest.raises(InvalidTimeframe) as caught:
        TierPolicy().timeframe("M1")
    assert caught.value.message == "Invalid timeframe M1. Valid options M5, M15, M30, H1, H2, H4, H8, H12, D1"
    assert caught.value.status == 400


def test_timeframe_is_case_insensitive() -> None:
    assert TierPolicy().timeframe("h4") == "H4"


def test_free_tier_refused_pro_symbol_names_accessible_symbols() -> None:
    policy = TierPolicy()
    with pytest.raises(TierDenied) as caught:
        policy.check_symbol(policy.tier("FREE"), "AUDJPY")
    body = caught.value.body()
    assert body["error"] == "FREE tier cannot access AUDJPY"
    assert body["tier"] == "FREE"
    assert body["accessible_symbols"] == ["BTCUSD", "EURUSD", "USDJPY", "US30", "XAUUSD"]
    assert body["upgrade_required"] is True
    assert body["required_tier"] == "PRO"
    assert body["code"] == "tier_denied"


def test_free_tier_refused_pro_timeframe_names_accessible_timeframes() -> None:
    policy = TierPolicy()
    with pytest.raises(TierDenied) as caught:
        policy.check_timeframe(policy.tier("FREE"), "M5")
    body = caught.value.body()
    assert body["error"] == "FREE tier cannot access M5 timeframe"
    assert body["accessible_timeframes"] == ["H1", "H4", "D1"]


def test_pro_tier_passes_every_symbol_and_timeframe() -> None:
    policy = TierPolicy()
    pro = policy.tier("pro")
    for symbol in pro.symbols:
        policy.check_symbol(pro, symbol)
    for timeframe in policy.timeframes:
        policy.check_timeframe(pro, timeframe)


def test_absent_tier_is_the_lowest_and_unknown_tier_is_bad_request() -> None:
    policy = TierPolicy()
    assert policy.tier(None).name == "FREE"
    with pytest.raises(BadRequest, match="Unknown tier GOLD"):
        policy.tier("GOLD")


def test_tier_with_unknown_timeframe_is_refused_at_configuration() -> None:
    with pytest.raises(ValueError, match="unknown timeframes"):
        TierPolicy([Tier("X", ("EURUSD",), ("H5",))])
