"""``mt5gateway demo`` as a user runs it: its log lines, and what a kill -9 leaves behind.

After ``kill -9`` of the demo, every process it started (the 15 terminal workers, the indicator
render worker and multiprocessing's resource tracker) exits by itself; the demo's temporary folder
stays, and the next demo's start removes it. The demo logs plain lines by default (with the request
id field, ``-`` outside a request), JSON lines with ``--log-format json``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from mt5gateway.demo import FOLDER_PREFIX
from tests.net import free_port


def _descendants(root: int) -> set[int]:
    """Every live process below ``root`` (Linux /proc)."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", "rb") as stat:
                    fields = stat.read().rpartition(b")")[2].split()
            except OSError:
                continue
            if fields[0] != b"Z":
                parents[int(entry)] = int(fields[1])
    found: set[int] = set()
    frontier = {root}
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rpartition(b")")[2].split()[0] != b"Z"
    except OSError:
        return False


def _start_demo(folder: Path, *options: str) -> tuple[subprocess.Popen[str], str]:
    port = free_port()
    env = {**os.environ, "TMPDIR": str(folder)}
    process = subprocess.Popen(
        [sys.executable, "-m", "mt5gateway.cli", "demo", "--port", str(port), *options],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while True:
        try:
            if httpx.get(f"{base}/api/health", timeout=5).json().get("status") == "ok":
                return process, base
        except (httpx.HTTPError, ValueError):
            pass
        assert process.poll() is None and time.monotonic() < deadline, "the demo did not start"
        time.sleep(0.5)


def test_a_killed_demo_leaves_no_process_and_its_folder_goes_at_the_next_start(tmp_path: Path) -> None:
    first, _ = _start_demo(tmp_path, "--log-format", "json")
    try:
        children = _descendants(first.pid)
        assert len(children) >= 17  # 15 workers, the render worker, the resource tracker
        (left,) = tmp_path.glob(f"{FOLDER_PREFIX}*")
        first.send_signal(signal.SIGKILL)
        first.wait(30)
        deadline = time.monotonic() + 20
        while any(_alive(pid) for pid in children):
            assert time.monotonic() < deadline, [pid for pid in children if _alive(pid)]
            time.sleep(0.2)
    finally:
        first.kill()
    assert left.exists()  # nothing removes it until the next start
    assert first.stderr is not None
    lines = [json.loads(line) for line in first.stderr.read().splitlines() if line.startswith("{")]
    assert any(line["message"] == "Application startup complete." for line in lines)
    assert all({"time", "level", "logger", "request_id", "message"} <= set(line) for line in lines)

    second, base = _start_demo(tmp_path, "--log-level", "debug")
    try:
        assert not left.exists()
        (mine,) = tmp_path.glob(f"{FOLDER_PREFIX}*")
        with httpx.Client(base_url=base, timeout=30) as client:
            assert client.get("/api/health", headers={"X-Request-ID": "demo-trace"}).status_code == 200
    finally:
        second.send_signal(signal.SIGINT)
        second.wait(60)
    assert not mine.exists()  # an orderly stop removes its own folder
    assert second.stderr is not None
    plain = second.stderr.read()
    assert " INFO uvicorn.error [-] Application startup complete." in plain
    # The access line of the request, under the id the client sent.
    assert " DEBUG mt5gateway.api.guards [demo-trace] GET /api/health 200" in plain
