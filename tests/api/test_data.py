"""The recorded-data endpoints over a real gateway: gap-fill jobs, statistics, gaps, exports, auth,
``source=store`` on the bars endpoint, the recorder inside the service, and jobs resumed at start-up.

Two small gateways (the BTCUSD, EURUSD and AUDJPY terminals only): one on a SQLite store with the
recorder enabled for the module's tests, one on PostgreSQL for the job and store round trip.
"""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pyarrow.parquet as pq
import pytest

from mt5gateway.api import ApiKeyConfig, GatewayConfig, create_app, load_settings
from mt5gateway.api.keys import generate_key, hash_key
from mt5gateway.pool import default_pool_config
from mt5gateway.recorder import create_fill_job
from mt5gateway.store import Store
from tests.live import served

from .conftest import LiveGateway

DAY = 86_400
SYMBOLS = ("BTCUSD", "EURUSD", "AUDJPY")
# A whole UTC day two days back: final bars on every terminal; BTCUSD trades every day of the week.
DAY_START = (int(time.time()) // DAY - 2) * DAY
DAY_END = DAY_START + DAY


@contextmanager
def serve(tmp_path: Path, **settings: Any) -> Iterator[LiveGateway]:
    """A gateway over the terminals of ``SYMBOLS`` with keys ``market`` (FREE, market only), ``data``
    (PRO, market and data) and ``admin``; ``settings`` go to ``load_settings``."""
    keys = {role: generate_key() for role in ("market", "data", "admin")}
    config = load_settings(
        None,
        host="127.0.0.1",
        admin_key_hash=hash_key(keys["admin"]),
        rate_limit={"per_minute": 1_000_000, "burst": 100_000},
        journal_path=tmp_path / "journal.sqlite",  # beside the test, not in ./data
        keys=(
            ApiKeyConfig(name="market", hash=hash_key(keys["market"]), tier="FREE"),
            ApiKeyConfig(name="data", hash=hash_key(keys["data"]), tier="PRO", scopes=("market", "data")),
        ),
        **settings,
    )
    full = default_pool_config()
    terminals = tuple(t for t in full.terminals if set(t.symbols) & set(SYMBOLS))
    app = create_app(GatewayConfig(api=config, pool=full.model_copy(update={"terminals": terminals})))
    with served(app) as server:
        yield LiveGateway(server.base_url, keys, app, server.loop)


@pytest.fixture(scope="module")
def live_data(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveGateway]:
    folder = tmp_path_factory.mktemp("data-gateway")
    with serve(
        folder,
        store_url=f"sqlite:///{folder / 'store.db'}",
        recorder={"enabled": True, "symbols": ["BTCUSD"]},
    ) as gateway:
        yield gateway


def wait_for_job(client: httpx.Client, job_id: str, timeout: float = 30.0) -> dict[str, Any]:
    """Poll the job until it is done or failed."""
    deadline = time.monotonic() + timeout
    while True:
        body: dict[str, Any] = client.get(f"/api/data/jobs/{job_id}").json()
        if body["state"] in ("done", "failed") or time.monotonic() > deadline:
            return body
        time.sleep(0.1)


def bars(client: httpx.Client, symbol: str, timeframe: str, **params: Any) -> list[dict[str, Any]]:
    response = client.get(f"/api/bars/{symbol}/{timeframe}", params=params)
    assert response.status_code == 200, response.text
    rows: list[dict[str, Any]] = response.json()["bars"]
    return rows


@pytest.fixture(scope="module")
def filled_day(live_data: LiveGateway) -> dict[str, Any]:
    """A bars gap-fill of BTCUSD's day ``DAY_START`` over HTTP, run to its end."""
    with live_data.client("data") as client:
        response = client.post(
            "/api/data/gap-fill", json={"symbol": "btcusd", "from": DAY_START, "to": DAY_END, "what": "bars"}
        )
        assert response.status_code == 202, response.text
        started = response.json()
        assert started["success"] is True
        assert started["state"] in ("pending", "running")
        assert (started["symbol"], started["what"], started["from"], started["to"]) == (
            "BTCUSD",
            "bars",
            DAY_START,
            DAY_END,
        )
        return wait_for_job(client, started["job_id"])


def test_gap_fill_job_runs_to_done_and_its_bars_equal_the_terminals(
    live_data: LiveGateway, filled_day: dict[str, Any]
) -> None:
    assert filled_day["state"] == "done", filled_day
    assert filled_day["progress"] == 1.0
    assert filled_day["cursor"] == DAY_END
    assert filled_day["rows_written"] >= 1440
    assert filled_day["error"] is None
    with live_data.client("data") as client:
        for timeframe in ("M5", "H1", "D1"):
            # `to` is inclusive on both sources: the last second of the day.
            window = {"from": DAY_START, "to": DAY_END - 1}
            stored = bars(client, "BTCUSD", timeframe, source="store", **window)
            assert stored == bars(client, "BTCUSD", timeframe, **window)
            assert len(stored) == DAY // {"M5": 300, "H1": 3600, "D1": DAY}[timeframe]


def test_gaps_and_completeness_of_the_filled_day(live_data: LiveGateway, filled_day: dict[str, Any]) -> None:
    with live_data.client("data") as client:
        body = client.get(
            "/api/data/gaps", params={"symbol": "BTCUSD", "from": DAY_START, "to": DAY_END}
        ).json()
        assert body["success"] is True
        assert (body["symbol"], body["from"], body["to"]) == ("BTCUSD", DAY_START, DAY_END)
        assert body["gaps"] == []
        [day] = body["completeness"]
        assert day["expected_minutes"] == day["present_minutes"] == 1440
        assert day["percent"] == 100.0
        # The day before was never filled: one gap covering all of it.
        before = client.get(
            "/api/data/gaps", params={"symbol": "BTCUSD", "from": DAY_START - DAY, "to": DAY_START}
        ).json()
        assert before["gaps"] == [{"start": DAY_START - DAY, "end": DAY_START, "minutes": 1440}]
        assert before["completeness"][0]["percent"] == 0.0


def test_statistics_count_filled_bars_and_recorded_ticks(
    live_data: LiveGateway, filled_day: dict[str, Any]
) -> None:
    recorder = live_data.gateway.data.recorder
    assert recorder is not None and recorder.symbols == ("BTCUSD",)
    deadline = time.monotonic() + 20
    while recorder.stats.ticks_written == 0 and time.monotonic() < deadline:
        time.sleep(0.1)
    with live_data.client("data") as client:
        body = client.get("/api/data/statistics", params={"symbols": "BTCUSD,EURUSD"}).json()
    assert body["success"] is True
    rows = {row["symbol"]: row for row in body["symbols"]}
    btc = rows["BTCUSD"]
    assert set(btc) == {
        "symbol",
        "ticks",
        "first_tick_msc",
        "last_tick_msc",
        "bars",
        "first_bar_time",
        "last_bar_time",
        "completeness",
        "gaps",
    }
    assert btc["ticks"] > 0  # the recorder's, written while the service runs
    assert btc["bars"] >= 1440
    assert btc["first_bar_time"] == DAY_START
    if btc["last_bar_time"] >= DAY_END:  # the recorder closed a minute: the time since the day is missing
        assert 0 < btc["completeness"] < 100 and btc["gaps"] >= 1
    else:
        assert (btc["completeness"], btc["gaps"]) == (100.0, 0)
    assert "EURUSD" not in rows or rows["EURUSD"]["bars"] == 0


def test_export_csv_and_parquet_stream_the_stored_bars(
    live_data: LiveGateway, filled_day: dict[str, Any]
) -> None:
    params: dict[str, str | int] = {"symbol": "BTCUSD", "timeframe": "m5", "from": DAY_START, "to": DAY_END}
    with live_data.client("data") as client:
        stored = bars(client, "BTCUSD", "M5", source="store", **{"from": DAY_START, "to": DAY_END - 1})
        response = client.get("/api/data/export", params=params)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/csv")
        assert response.headers["content-disposition"] == (
            f'attachment; filename="BTCUSD_M5_{DAY_START}_{DAY_END}.csv"'
        )
        rows = list(csv.DictReader(io.StringIO(response.text)))
        assert [int(row["time"]) for row in rows] == [bar["time"] for bar in stored]
        assert [float(row["close"]) for row in rows] == [bar["close"] for bar in stored]

        response = client.get("/api/data/export", params={**params, "format": "parquet"})
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "application/vnd.apache.parquet"
        assert response.headers["content-disposition"].endswith(f'_{DAY_END}.parquet"')
        table = pq.read_table(io.BytesIO(response.content))
        assert table.column("time").to_pylist() == [bar["time"] for bar in stored]
        assert table.column("high").to_pylist() == [bar["high"] for bar in stored]


def test_data_endpoints_need_the_admin_key_or_the_data_scope(live_data: LiveGateway) -> None:
    fill = {"symbol": "BTCUSD", "from": DAY_START, "to": DAY_START + 3600, "what": "bars"}
    with live_data.client() as anonymous:
        assert anonymous.get("/api/data/statistics").status_code == 401
        assert anonymous.post("/api/data/gap-fill", json=fill).status_code == 401
    with live_data.client("market") as market_only:
        refused = market_only.get("/api/data/statistics")
        assert refused.status_code == 403
        assert refused.json()["code"] == "forbidden"
        assert market_only.post("/api/data/gap-fill", json=fill).status_code == 403
    for role in ("data", "admin"):
        with live_data.client(role) as client:
            assert client.get("/api/data/statistics").status_code == 200
    # The admin key may start a job too; a wrong admin key is no key at all.
    with live_data.client("admin") as admin:
        job = admin.post("/api/data/gap-fill", json=fill).json()
        assert wait_for_job(admin, job["job_id"])["state"] == "done"
    with live_data.client(**{"X-Admin-API-Key": "mt5gw_wrong"}) as wrong:
        assert wrong.get("/api/data/statistics").status_code == 401


BAD_REQUESTS: list[tuple[str, str, dict[str, Any], int, str]] = [
    # method, path, query or body, status, code
    (
        "POST",
        "/api/data/gap-fill",
        {"symbol": "BTCUSD", "from": DAY_END, "to": DAY_START},
        400,
        "bad_request",
    ),
    (
        "POST",
        "/api/data/gap-fill",
        {"symbol": "BTCUSD", "from": DAY_START, "to": DAY_START},
        400,
        "bad_request",
    ),
    (
        "POST",
        "/api/data/gap-fill",
        {"symbol": "NOPE", "from": DAY_START, "to": DAY_END},
        404,
        "symbol_not_found",
    ),
    (
        "POST",
        "/api/data/gap-fill",
        {"symbol": "BTCUSD", "from": DAY_START - 40 * DAY, "to": DAY_START, "what": "ticks"},
        400,
        "bad_request",
    ),
    (
        "POST",
        "/api/data/gap-fill",
        {"symbol": "BTCUSD", "from": DAY_START, "to": DAY_END, "what": "candles"},
        400,
        "invalid_request",
    ),
    ("POST", "/api/data/gap-fill", {"symbol": "BTCUSD", "from": DAY_START}, 400, "invalid_request"),
    (
        "POST",
        "/api/data/gap-fill",
        {"symbol": "BTCUSD", "from": 10**15, "to": 10**16},
        400,
        "invalid_request",
    ),
    ("GET", "/api/data/jobs/no-such-job", {}, 404, "not_found"),
    ("GET", "/api/data/gaps", {"symbol": "NOPE", "from": DAY_START, "to": DAY_END}, 404, "symbol_not_found"),
    ("GET", "/api/data/gaps", {"symbol": "BTCUSD", "from": DAY_END, "to": DAY_START}, 400, "bad_request"),
    ("GET", "/api/data/gaps", {"symbol": "BTCUSD", "from": 0, "to": DAY_START}, 400, "bad_request"),
    ("GET", "/api/data/gaps", {"from": DAY_START, "to": DAY_END}, 400, "invalid_request"),
    (
        "GET",
        "/api/data/export",
        {"symbol": "BTCUSD", "timeframe": "M1", "from": DAY_START, "to": DAY_END, "format": "xlsx"},
        400,
        "invalid_request",
    ),
    (
        "GET",
        "/api/data/export",
        {"symbol": "BTCUSD", "timeframe": "M2", "from": DAY_START, "to": DAY_END},
        400,
        "bad_request",
    ),
    (
        "GET",
        "/api/data/export",
        {"symbol": "BTCUSD", "timeframe": "ticks", "from": DAY_START - 8 * DAY, "to": DAY_START},
        400,
        "bad_request",
    ),
    (
        "GET",
        "/api/data/export",
        {"symbol": "BTCUSD", "timeframe": "H1", "from": DAY_END, "to": DAY_START},
        400,
        "bad_request",
    ),
    (
        "GET",
        "/api/data/export",
        {"symbol": "NOPE", "timeframe": "H1", "from": DAY_START, "to": DAY_END},
        404,
        "symbol_not_found",
    ),
    ("GET", "/api/bars/BTCUSD/H1", {"source": "store", "count": 10}, 400, "bad_request"),
    (
        "GET",
        "/api/bars/BTCUSD/H1",
        {"source": "disk", "from": DAY_START, "to": DAY_END},
        400,
        "invalid_request",
    ),
    ("GET", "/api/bars/BTCUSD/H1", {"source": "store", "from": DAY_END, "to": DAY_START}, 400, "bad_request"),
    ("GET", "/api/bars/BTCUSD/M5", {"source": "store", "from": 0, "to": DAY_START}, 400, "bad_request"),
    (
        "GET",
        "/api/bars/BTCUSD/M1",
        {"source": "store", "from": DAY_START, "to": DAY_END},
        400,
        "invalid_timeframe",
    ),
    (
        "GET",
        "/api/bars/NOPE/H1",
        {"source": "store", "from": DAY_START, "to": DAY_END},
        404,
        "symbol_not_found",
    ),
]


@pytest.mark.parametrize(("method", "path", "values", "status", "code"), BAD_REQUESTS)
def test_bad_input_is_a_clear_4xx(
    live_data: LiveGateway, method: str, path: str, values: dict[str, Any], status: int, code: str
) -> None:
    with live_data.client("data") as client:
        response = client.post(path, json=values) if method == "POST" else client.get(path, params=values)
    assert response.status_code == status, response.text
    body = response.json()
    assert body["success"] is False
    assert body["code"] == code
    assert body["error"]


def test_stored_bars_keep_the_tier_checks(live_data: LiveGateway) -> None:
    window: dict[str, str | int] = {"source": "store", "from": DAY_START, "to": DAY_END - 1}
    with live_data.client("market") as free:
        denied = free.get("/api/bars/AUDJPY/H1", params=window)
        assert denied.status_code == 403
        assert denied.json()["code"] == "tier_denied"
        assert free.get("/api/bars/BTCUSD/M5", params=window).json()["code"] == "tier_denied"
        # An empty stretch of the store is an empty answer, not an error.
        empty = free.get("/api/bars/EURUSD/H1", params=window).json()
        assert (empty["success"], empty["count"], empty["bars"]) == (True, 0, [])


def test_jobs_resume_at_start_and_ticks_round_trip_on_postgresql(tmp_path: Path, postgres_url: str) -> None:
    # A job recorded but never run (as if the gateway had stopped before it): start-up runs it.
    store = Store.open(postgres_url)
    try:
        pending = create_fill_job(store, symbol="BTCUSD", from_time=DAY_START, to_time=DAY_END, what="bars")
    finally:
        store.close()
    tick_span = {"from": DAY_START + 3 * 3600, "to": DAY_START + 3 * 3600 + 600}
    with serve(tmp_path, store_url=postgres_url) as live, live.client("data") as client:
        resumed = wait_for_job(client, pending.id)
        assert resumed["state"] == "done", resumed
        window = {"from": DAY_START, "to": DAY_END - 1}
        assert bars(client, "BTCUSD", "H1", source="store", **window) == bars(
            client, "BTCUSD", "H1", **window
        )

        started = client.post("/api/data/gap-fill", json={"symbol": "BTCUSD", "what": "ticks", **tick_span})
        assert started.status_code == 202, started.text
        done = wait_for_job(client, started.json()["job_id"])
        assert done["state"] == "done", done
        exported = client.get(
            "/api/data/export",
            params={"symbol": "BTCUSD", "timeframe": "ticks", "format": "csv", **tick_span},
        )
        assert exported.status_code == 200, exported.text
        stored = [
            (int(row["time_msc"]), float(row["bid"])) for row in csv.DictReader(io.StringIO(exported.text))
        ]
        terminal = client.get("/api/ticks/BTCUSD", params={"count": 10_000, **tick_span}).json()["ticks"]
        end_msc = tick_span["to"] * 1000
        expected = [(tick["time_msc"], tick["bid"]) for tick in terminal if tick["time_msc"] < end_msc]
        assert stored == expected
        assert done["rows_written"] == len(expected) > 0
