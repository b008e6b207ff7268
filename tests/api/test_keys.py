"""Keys: generation, hashing, constant-time lookup, the keys CLI, and settings from TOML and env."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from mt5gateway.api.keys import KeyStore, generate_key, hash_key
from mt5gateway.api.settings import ApiKeyConfig, ApiSettings, load_settings
from mt5gateway.cli import main


def test_generated_keys_are_distinct_and_long() -> None:
    first, second = generate_key(), generate_key()
    assert first != second
    assert len(first) >= 40


def test_keystore_finds_client_by_key_and_not_by_hash() -> None:
    key = generate_key()
    config = ApiKeyConfig(name="web", hash=hash_key(key), tier="PRO", trusted=True)
    store = KeyStore([ApiKeyConfig(name="other", hash=hash_key(generate_key())), config], None)
    assert store.client(key) == config
    assert store.client(hash_key(key)) is None
    assert store.client("") is None
    assert store.client(None) is None


def test_admin_key_is_separate_and_refused_when_unset() -> None:
    admin = generate_key()
    client = generate_key()
    store = KeyStore([ApiKeyConfig(name="c", hash=hash_key(client))], hash_key(admin))
    assert store.is_admin(admin)
    assert not store.is_admin(client)
    assert store.client(admin) is None
    assert not KeyStore([], None).is_admin(admin)


def test_malformed_hash_is_refused() -> None:
    with pytest.raises(ValidationError, match="sha256"):
        ApiKeyConfig(name="web", hash="plaintext-key")


def test_keys_new_prints_key_once_and_matching_config(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["keys", "new", "--name", "web", "--tier", "PRO", "--trusted"]) == 0
    out = capsys.readouterr().out
    key = re.search(r"key \(shown once, store it now\): (\S+)", out)
    assert key is not None
    assert f'hash = "{hash_key(key.group(1))}"' in out
    assert 'tier = "PRO"' in out
    assert "trusted = true" in out
    assert out.count(key.group(1)) == 1


def test_keys_cli_output_loads_as_settings(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(["keys", "new", "--name", "web", "--tier", "PRO", "--trusted"])
    client_out = capsys.readouterr().out
    main(["keys", "new", "--admin"])
    admin_out = capsys.readouterr().out
    config = tmp_path / "gateway.toml"
    marker = "add to the config file:\n"
    config.write_text(admin_out.split(marker)[1] + "\n" + client_out.split(marker)[1])
    settings = load_settings(config)
    assert settings.keys[0].name == "web"
    assert settings.keys[0].trusted
    assert settings.admin_key_hash is not None


def test_keys_hash_prints_hash(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["keys", "hash", "abc"]) == 0
    assert capsys.readouterr().out.strip() == hash_key("abc")


def test_environment_overrides_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "gateway.toml"
    config.write_text("[api]\nport = 9000\n[api.rate_limit]\nper_minute = 10\n")
    monkeypatch.setenv("MT5GW_API_PORT", "9100")
    monkeypatch.setenv("MT5GW_API_RATE_LIMIT__BURST", "7")
    settings = load_settings(config)
    assert settings.port == 9100
    assert settings.rate_limit.burst == 7
    assert ApiSettings().tiers["FREE"].timeframes == ("H1", "H4", "D1")


def test_serve_reads_api_and_pool_tables_of_one_file(tmp_path: Path) -> None:
    from mt5gateway.api import load_gateway_config

    config = tmp_path / "gateway.toml"
    config.write_text(
        '[api]\nport = 9200\n[api.tiers.BASIC]\nsymbols = ["EURUSD"]\ntimeframes = ["H1"]\n'
        '[pool]\n[[pool.terminals]]\nid = "T1"\nsymbols = ["EURUSD"]\n'
    )
    loaded = load_gateway_config(config, host="0.0.0.0")
    assert (loaded.api.host, loaded.api.port) == ("0.0.0.0", 9200)
    assert list(loaded.api.tier_policy().tiers) == ["BASIC"]
    assert [t.id for t in loaded.pool.terminals] == ["T1"]
    assert loaded.sync is None  # no [sync] table: no mirror
    api_only = tmp_path / "api.toml"
    api_only.write_text("[api]\nport = 9300\n")
    assert len(load_gateway_config(api_only).pool.terminals) == 15
