"""The ``group=`` masks: inclusion, exclusion whatever the order, case, literal characters."""

from __future__ import annotations

import pytest

from mt5gateway.sim.groups import group_matcher, matches_group

SYMBOLS = ["AUDJPY", "AUDUSD", "BTCUSD", "EURUSD", "EURJPY", "GBPUSD", "USDJPY", "XAUUSD", "US30", "NDX100"]


def _kept(group: str) -> list[str]:
    return [name for name in SYMBOLS if matches_group(name, group)]


@pytest.mark.parametrize(
    ("group", "expected"),
    [
        ("*", SYMBOLS),
        ("EURUSD", ["EURUSD"]),
        ("*USD*", ["AUDUSD", "BTCUSD", "EURUSD", "GBPUSD", "USDJPY", "XAUUSD"]),
        ("*USD*,!EUR*", ["AUDUSD", "BTCUSD", "GBPUSD", "USDJPY", "XAUUSD"]),
        ("!EUR*,*USD*", ["AUDUSD", "BTCUSD", "GBPUSD", "USDJPY", "XAUUSD"]),
        ("*,!*USD*,!*JPY*", ["US30", "NDX100"]),
        ("EUR*, GBP*", ["EURUSD", "EURJPY", "GBPUSD"]),
        ("US*", ["USDJPY", "US30"]),
        ("*30", ["US30"]),
    ],
)
def test_group_masks_select_expected_symbols(group: str, expected: list[str]) -> None:
    assert _kept(group) == expected


def test_group_matching_ignores_case() -> None:
    assert matches_group("EURUSD", "eur*")


def test_group_with_only_exclusions_matches_nothing() -> None:
    assert _kept("!EUR*") == []


def test_group_characters_other_than_star_are_literal() -> None:
    assert not matches_group("EURUSD", "EUR.SD")
    assert matches_group("EUR.SD", "EUR.SD")
    assert not matches_group("EURUSD", "EUR?SD")


def test_group_mask_must_match_whole_name() -> None:
    assert not matches_group("EURUSD", "EUR")
    assert group_matcher("*USD") is group_matcher("*USD")
