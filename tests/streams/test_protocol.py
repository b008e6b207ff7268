"""Client message and channel parsing: good messages parse, bad ones say what is wrong."""

from __future__ import annotations

import pytest

from mt5gateway.streams.protocol import MAX_MESSAGE_BYTES, ProtocolError, parse_channel, parse_client_message


def test_channels_parse_and_normalise() -> None:
    assert parse_channel("ticks:eurusd").name == "ticks:EURUSD"
    bars = parse_channel("bars:EURUSD:h1")
    assert (bars.name, bars.symbol, bars.timeframe) == ("bars:EURUSD:H1", "EURUSD", "H1")
    positions = parse_channel("positions:5001")
    assert (positions.kind, positions.login) == ("positions", 5001)
    assert parse_channel("terminals").kind == "terminals"


@pytest.mark.parametrize(
    "name",
    ["ticks", "ticks:", "bars:EURUSD", "account:abc", "account:" + "9" * 20, "trades:EURUSD", "terminals:x"],
)
def test_bad_channels_are_refused(name: str) -> None:
    with pytest.raises(ProtocolError) as caught:
        parse_channel(name)
    assert caught.value.code == "invalid_channel"


def test_messages_parse() -> None:
    message = parse_client_message('{"type": "subscribe", "channels": ["ticks:EURUSD"]}')
    assert message.type == "subscribe" and message.channels == ("ticks:EURUSD",)
    assert parse_client_message(b'{"action": "unsubscribe", "channel": "terminals"}').channels == (
        "terminals",
    )
    assert parse_client_message('{"type": "auth", "api_key": "k"}').api_key == "k"


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("not json", "invalid_json"),
        ("[1, 2]", "invalid_message"),
        ('{"type": "dance"}', "unknown_type"),
        ('{"type": "subscribe"}', "invalid_message"),
        ('{"type": "subscribe", "channels": [1]}', "invalid_message"),
        ('{"type": "auth"}', "invalid_message"),
        ('{"type": "subscribe", "channels": ["' + "x" * MAX_MESSAGE_BYTES + '"]}', "message_too_large"),
    ],
)
def test_bad_messages_get_an_error_code(raw: str, code: str) -> None:
    with pytest.raises(ProtocolError) as caught:
        parse_client_message(raw)
    assert caught.value.code == code
    assert caught.value.frame()["type"] == "error"
