"""Backtest jobs over HTTP (scope research): accepted at once, run in worker processes, kept in the store."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from mt5gateway.api import ApiKeyConfig, GatewayConfig, create_app, load_settings
from mt5gateway.api.keys import generate_key, hash_key
from mt5gateway.pool.config import parse_pool_config
from tests.live import served

JOB = {
    "strategy": "sma_cross",
    "symbol": "EURUSD",
    "timeframe": "H1",
    "start": "2024-01-01",
    "end": "2024-02-29",
    "params": {"fast": 10, "slow": 30},
}


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str], Path]]:
    folder = tmp_path_factory.mktemp("research")
    strategies = folder / "strategies"
    strategies.mkdir()
    (strategies / "slow.py").write_text(
        "import time\n"
        "from mt5gateway.research import Strategy\n"
        "class Slow(Strategy):\n"
        "    pause = 0.002\n"
        "    def init(self):\n"
        "        pass\n"
        "    def next(self):\n"
        "        time.sleep(self.pause)\n"
    )
    keys = {"research": generate_key(), "market": generate_key()}
    settings = load_settings(
        None,
        host="127.0.0.1",
        store_url=f"sqlite:///{folder / 'store.db'}",
        journal_path=folder / "journal.sqlite",
        keys=(
            ApiKeyConfig(name="quant", hash=hash_key(keys["research"]), tier="PRO", scopes=("research",)),
            ApiKeyConfig(name="viewer", hash=hash_key(keys["market"]), tier="PRO", scopes=("market",)),
        ),
        research={"workers": 2, "strategies_dir": strategies},
    )
    pool = parse_pool_config(
        {"terminals": [{"id": "MT5_01", "backend": "sim", "symbols": ["EURUSD"]}]}, source="test"
    )
    with served(create_app(GatewayConfig(api=settings, pool=pool))) as server:
        yield server.base_url, keys, folder


def client(gateway: tuple[str, dict[str, str], Path], role: str = "research") -> httpx.Client:
    base_url, keys, _ = gateway
    return httpx.Client(base_url=base_url, headers={"X-API-Key": keys[role]}, timeout=30)


def wait_for(
    http: httpx.Client, job_id: str, states: tuple[str, ...], timeout: float = 120
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = http.get(f"/api/backtests/{job_id}").json()
        if body["state"] in states:
            return body
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} never reached {states}: {body}")


def test_a_job_runs_in_a_worker_and_serves_stats_trades_equity_report(gateway: Any) -> None:
    with client(gateway) as http:
        accepted = http.post("/api/backtests", json=JOB)
        assert accepted.status_code == 202 and accepted.json()["state"] == "pending"
        job_id = accepted.json()["id"]
        done = wait_for(http, job_id, ("done", "failed"))
        assert done["state"] == "done", done["error"]
        stats = done["statistics"]
        assert (
            stats["# Trades"] > 5 and stats["_params"] == {"fast": 10, "slow": 30} and done["progress"] == 1.0
        )
        trades = http.get(f"/api/backtests/{job_id}/trades").json()
        assert trades["count"] == stats["# Trades"] and {"EntryTime", "PnL"} <= set(trades["trades"][0])
        equity = http.get(f"/api/backtests/{job_id}/equity").json()
        assert equity["equity"][-1]["equity"] == pytest.approx(stats["Equity Final [$]"])
        report = http.get(f"/api/backtests/{job_id}/report")
        assert report.headers["content-type"].startswith("text/html") and "<svg" in report.text


def test_an_optimisation_job_reports_the_best_set(gateway: Any) -> None:
    job = {**JOB, "params": {}, "optimize": {"fast": "5..15:5", "slow": [20, 40]}, "maximize": "Return [%]"}
    with client(gateway) as http:
        job_id = http.post("/api/backtests", json=job).json()["id"]
        done = wait_for(http, job_id, ("done", "failed"))
    assert done["state"] == "done", done["error"]
    assert done["statistics"]["_params"]["fast"] in (5, 10, 15)


def test_a_killed_worker_leaves_its_job_failed_with_the_reason(gateway: Any) -> None:
    job = {**JOB, "strategy": "file:slow.py", "params": {}, "timeframe": "M5"}
    with client(gateway) as http:
        job_id = http.post("/api/backtests", json=job).json()["id"]
        running = wait_for(http, job_id, ("running",))
        _, _, folder = gateway
        import sqlalchemy as sa

        engine = sa.create_engine(f"sqlite:///{folder / 'store.db'}")
        with engine.connect() as connection:
            pid = connection.execute(
                sa.text("SELECT pid FROM backtests WHERE id = :id"), {"id": job_id}
            ).scalar_one()
        engine.dispose()
        assert running["state"] == "running" and pid
        os.kill(pid, signal.SIGKILL)
        failed = wait_for(http, job_id, ("failed",))
    assert "killed (SIGKILL)" in failed["error"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"strategy": "nope"}, "unknown strategy"),
        ({"params": {"fats": 3}}, "has no parameter fats"),
        ({"end": "2023-12-01"}, "empty range"),
        ({"timeframe": "H7"}, "unknown timeframe"),
        ({"strategy": "file:../../etc/passwd.py"}, "a file name NAME.py"),
        ({"maximize": "Luck"}, "not a statistic"),
    ],
)
def test_bad_jobs_are_refused_with_400(gateway: Any, change: dict[str, Any], message: str) -> None:
    with client(gateway) as http:
        response = http.post("/api/backtests", json={**JOB, **change})
    assert response.status_code == 400 and message in response.json()["error"]


def test_a_data_failure_fails_the_job_with_its_reason(gateway: Any) -> None:
    with client(gateway) as http:
        job_id = http.post("/api/backtests", json={**JOB, "start": "2024-02-03", "end": "2024-02-04"}).json()[
            "id"
        ]
        failed = wait_for(http, job_id, ("done", "failed"))
    assert failed["state"] == "failed" and "no EURUSD H1 bars" in failed["error"]


def test_the_research_scope_is_required_and_unknown_jobs_are_404(gateway: Any) -> None:
    with client(gateway, "market") as http:
        assert http.post("/api/backtests", json=JOB).status_code == 403
    with client(gateway) as http:
        missing = http.get(f"/api/backtests/{'0' * 32}")
        assert missing.status_code == 404 and missing.json()["success"] is False
        assert http.get("/api/backtests/not-an-id").status_code in (400, 422)
        assert http.post("/api/backtests", json={**JOB, "colour": "red"}).status_code in (400, 422)
