"""Pool configuration: the default, both file layouts, and one clear line per mistake."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mt5gateway.pool.config import ConfigError, default_pool_config, load_pool_config

REPO = Path(__file__).resolve().parents[2]


def _toml(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "pool.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _one_line_error(path: Path, environ: dict[str, str] | None = None) -> str:
    with pytest.raises(ConfigError) as caught:
        load_pool_config(path, environ=environ or {})
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_default_config_is_fifteen_sim_terminals_one_symbol_each() -> None:
    config = default_pool_config()
    assert [t.id for t in config.terminals] == [f"MT5_{i:02d}" for i in range(1, 16)]
    assert {t.backend for t in config.terminals} == {"sim"}
    assert config.terminal("MT5_05") is not None
    assert config.terminals[4].symbols == ("EURUSD",)
    assert config.terminals[14].symbols == ("XAUUSD",)


def test_example_toml_is_the_default_deployment() -> None:
    config = load_pool_config(REPO / "config" / "mt5gateway.example.toml", environ={})
    assert config == default_pool_config()


def test_password_comes_from_its_variable_and_stays_out_of_repr(tmp_path: Path) -> None:
    path = _toml(tmp_path, '[[pool.terminals]]\nid = "A"\nlogin = 5\npassword_env = "A_PASSWORD"\n')
    terminal = load_pool_config(path, environ={"A_PASSWORD": "s3cret"}).terminals[0]
    assert terminal.password == "s3cret"
    assert "s3cret" not in repr(terminal)
    assert terminal.routes_login == (5,)


def test_original_json_layout_is_accepted() -> None:
    config = load_pool_config(
        REPO / "config" / "mt5_terminals.example.json",
        environ={"MT5_01_PASSWORD": "a", "MT5_02_PASSWORD": "b", "MT5_SERVER": "Broker-Live"},
    )
    first = config.terminals[0]
    assert (first.id, first.backend, first.symbols, first.server) == (
        "MT5_01",
        "metatrader5",
        ("AUDJPY",),
        "Broker-Live",
    )
    assert first.password == "a"


def test_symbol_on_two_terminals_names_the_field(tmp_path: Path) -> None:
    path = _toml(
        tmp_path,
        '[[pool.terminals]]\nid = "A"\nsymbols = ["EURUSD"]\n[[pool.terminals]]\nid = "B"\nsymbols = ["GBPUSD", "EURUSD"]\n',
    )
    assert _one_line_error(path) == "pool.toml: terminals[1].symbols: EURUSD is already served by A"


def test_unknown_backend_names_the_field(tmp_path: Path) -> None:
    path = _toml(tmp_path, '[[pool.terminals]]\nid = "A"\nbackend = "mt4"\n')
    assert _one_line_error(path) == (
        "pool.toml: terminals[0].backend: unknown backend 'mt4' (choose sim, metatrader5 or remote)"
    )


def test_missing_password_variable_names_the_field(tmp_path: Path) -> None:
    path = _toml(tmp_path, '[[pool.terminals]]\nid = "A"\nlogin = 5\npassword_env = "NOPE_PASSWORD"\n')
    assert _one_line_error(path) == (
        "pool.toml: terminals[0].password_env: environment variable NOPE_PASSWORD is not set"
    )


def test_typo_in_a_key_suggests_the_right_one(tmp_path: Path) -> None:
    path = _toml(tmp_path, '[pool]\npoll_intervall = 0.1\n[[pool.terminals]]\nid = "A"\n')
    assert _one_line_error(path) == "pool.toml: poll_intervall: unknown key (did you mean 'poll_interval'?)"
    path = _toml(tmp_path, '[[pool.terminals]]\nid = "A"\nsymbls = ["X"]\n')
    assert _one_line_error(path) == "pool.toml: terminals[0].symbls: unknown key (did you mean 'symbols'?)"


def test_inline_password_is_refused(tmp_path: Path) -> None:
    path = _toml(tmp_path, '[[pool.terminals]]\nid = "A"\npassword = "secret"\n')
    assert "terminals[0].password: secrets are not kept in config files" in _one_line_error(path)
    original = tmp_path / "mt5_terminals.json"
    original.write_text(
        json.dumps({"terminals": [{"id": "A", "symbol": "X", "password": "secret", "path": "p"}]})
    )
    assert "terminals[0].password" in _one_line_error(original)


def test_remote_terminal_needs_address_and_token(tmp_path: Path) -> None:
    path = _toml(tmp_path, '[[pool.terminals]]\nid = "R"\nbackend = "remote"\n')
    assert (
        _one_line_error(path)
        == "pool.toml: terminals[0].address: required for the remote backend (host:port of its agent)"
    )
    path = _toml(tmp_path, '[[pool.terminals]]\nid = "R"\nbackend = "remote"\naddress = "10.0.0.5:7001"\n')
    assert "terminals[0].token_env: environment variable MT5GW_AGENT_TOKEN" in _one_line_error(path)
    config = load_pool_config(path, environ={"MT5GW_AGENT_TOKEN": "t"})
    assert config.terminals[0].token == "t"


def test_bad_values_name_their_field(tmp_path: Path) -> None:
    path = _toml(tmp_path, '[pool.deadlines]\nfast = -1\n[[pool.terminals]]\nid = "A"\n')
    assert _one_line_error(path).startswith("pool.toml: deadlines.fast: ")
    path = _toml(tmp_path, '[[pool.terminals]]\nid = "A"\nbackend = "metatrader5"\n')
    assert _one_line_error(path).startswith(
        "pool.toml: terminals[0].path: required for the metatrader5 backend"
    )
    path = _toml(
        tmp_path, '[[pool.terminals]]\nid = "A"\naccounts = [1]\n[[pool.terminals]]\nid = "B"\nlogin = 1\n'
    )
    assert _one_line_error(path) == "pool.toml: terminals[1].accounts: login 1 is already served by A"


def test_config_check_command_prints_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from mt5gateway.cli import main

    good = _toml(tmp_path, '[[pool.terminals]]\nid = "A"\nsymbols = ["EURUSD"]\n')
    assert main(["config", "check", str(good)]) == 0
    assert "ok: 1 terminals (sim), 1 symbols routed" in capsys.readouterr().out
    bad = _toml(tmp_path, '[[pool.terminals]]\nid = "A"\nbackend = "mt4"\n')
    assert main(["config", "check", str(bad)]) == 1
    assert capsys.readouterr().err.strip() == (
        "error: pool.toml: terminals[0].backend: unknown backend 'mt4' (choose sim, metatrader5 or remote)"
    )
