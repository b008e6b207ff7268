"""``mt5gateway sync --config FILE --once`` against the test gateway, and config mistakes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mt5gateway.cli import main
from mt5gateway.sync import Mirror

from .gateway import LOGINS, VIEWER_KEY, GatewayProcess


def test_sync_once_fills_the_mirror_and_prints_the_cycle(
    tmp_path: Path,
    gateway: GatewayProcess,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("VPS1_KEY", VIEWER_KEY)
    mirror = tmp_path / "mirror.sqlite"
    config = tmp_path / "sync.toml"
    config.write_text(
        f"""
[sync]
database_url = "sqlite:///{mirror}"

[[sync.sources]]
name = "vps-1"
url = "{gateway.url}"
api_key_env = "VPS1_KEY"

[sync.accounts.5000002]
client_id = "C-7"
""",
        encoding="utf-8",
    )

    assert main(["sync", "--config", str(config), "--once", "--log-level", "warning"]) == 0

    printed = json.loads(capsys.readouterr().out)
    assert (printed["status"], printed["accounts_ok"], printed["trigger"]) == ("success", 7, "manual")
    opened = Mirror.open(f"sqlite:///{mirror}")
    try:
        rows = opened.accounts()
    finally:
        opened.close()
    assert [row["login"] for row in rows] == list(LOGINS)
    assert next(row for row in rows if row["login"] == 5000002)["client_id"] == "C-7"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("[sync]\n", "nothing to copy from"),
        ('[[sync.sources]]\nname = "a"\nurl = "http://x"\n', "give api_key_env"),
        ('[[sync.sources]]\nname = "a"\nurl = "http://x"\napi_key_env = "MT5GW_UNSET_KEY_VAR"\n', "not set"),
        (
            '[sync.freshness]\nfresh_minutes = 20\n[[sync.sources]]\nname = "a"\nurl = "u"\napi_key = "k"\n',
            "increase",
        ),
    ],
)
def test_config_mistakes_exit_2_with_one_line(
    tmp_path: Path, body: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "sync.toml"
    config.write_text(
        f'[sync]\ndatabase_url = "sqlite:///{tmp_path / "m.sqlite"}"\n' + body.replace("[sync]\n", "")
    )
    assert main(["sync", "--config", str(config), "--once"]) == 2
    assert message in capsys.readouterr().out
