"""``mt5gateway serve`` with a ``[sync]`` table: the mirror runs inside the gateway process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from mt5gateway.api.keys import generate_key, hash_key
from tests.net import free_port

LOGIN = 5000001


def test_serve_runs_the_mirror_and_the_bridge_reads_it(tmp_path: Path) -> None:
    admin, viewer, port = generate_key(), generate_key(), free_port()
    config = tmp_path / "gateway.toml"
    config.write_text(
        f'[api]\nhost = "127.0.0.1"\nport = {port}\nadmin_key_hash = "{hash_key(admin)}"\n'
        f'[[api.keys]]\nname = "viewer"\nhash = "{hash_key(viewer)}"\ntier = "PRO"\n'
        'scopes = ["market", "accounts"]\n'
        '[pool.sim]\nbroker_db = ":memory:"\n'
        f'[[pool.terminals]]\nid = "T1"\nsymbols = ["BTCUSD"]\naccounts = [{LOGIN}]\nlogin = {LOGIN}\n'
        f'[sync]\ndatabase_url = "sqlite:///{tmp_path / "mirror.sqlite"}"\nlocal_pool = true\n'
    )
    server = subprocess.Popen(
        [sys.executable, "-m", "mt5gateway.cli", "serve", "--config", str(config), "--log-level", "warning"],
        cwd=os.getcwd(),
    )
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if client.get("/api/health").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert server.poll() is None and time.monotonic() < deadline, "serve did not start"
                time.sleep(0.2)
            info_path = f"/api/mt5/account/{LOGIN}/info"
            before = client.get(info_path, headers={"X-API-Key": viewer}).json()["stored_data"]

            synced = client.post("/api/admin/sync-from-vps", headers={"X-Admin-API-Key": admin}).json()
            cached = client.get(f"/api/cache/accounts/{LOGIN}", headers={"X-API-Key": viewer}).json()
            info = client.get(info_path, headers={"X-API-Key": viewer}).json()
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)
    # Before the first cycle: still an object (the design's clients read it), empty, and why.
    assert before["balance"] is None and "no copy" in before["reason"]
    assert (synced["status"], synced["accounts_synced"], synced["total_accounts"]) == ("success", 1, 1)
    assert cached["success"] is True
    assert info["stored_data"]["login"] == LOGIN
    assert info["stored_data"]["data_source"] == "LIVE"
    assert info["stored_data"]["balance"] == info["live_data"]["balance"]
