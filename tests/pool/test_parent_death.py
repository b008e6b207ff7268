"""A worker never outlives its gateway, even one whose terminal call hangs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

GATEWAY = textwrap.dedent(
    """
    import asyncio, sys
    from mt5gateway.pool import TerminalPool
    from tests.pool.fixtures import small_config

    async def main() -> None:
        pool = TerminalPool(small_config(["BTCUSD"], deadlines={"fast": 600, "history": 600}))
        await pool.start()
        print(pool.status("T1").pid, flush=True)
        await pool.sim_control("T1", "hang")
        # This call blocks the worker inside the backend until the gateway is killed.
        await pool.call("T1", "symbol_info_tick", "BTCUSD")

    if __name__ == "__main__":
        asyncio.run(main())
    """
)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead for our purpose; /proc tells the state.
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().split(")")[-1].split()[0] != "Z"


def test_hung_worker_exits_when_gateway_is_killed() -> None:
    gateway = subprocess.Popen(
        [sys.executable, "-c", GATEWAY], stdout=subprocess.PIPE, text=True, cwd=os.getcwd()
    )
    try:
        assert gateway.stdout is not None
        worker_pid = int(gateway.stdout.readline())
        time.sleep(0.5)  # the hang and the blocked call reach the worker
        assert _alive(worker_pid)
        gateway.send_signal(signal.SIGKILL)
        gateway.wait(timeout=10)
        deadline = time.monotonic() + 5
        while _alive(worker_pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(worker_pid), "the hung worker outlived its gateway"
    finally:
        gateway.kill()
