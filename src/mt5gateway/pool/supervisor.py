"""Keeps one terminal serving: starts its worker, checks its health, restarts it with backoff.

A terminal is down when its worker process died, a call missed its deadline (the worker is hung),
``terminal_info()`` says it is not connected and logging in again in place did not help, or its
``initialize`` failed. A down terminal's calls fail at once with ``TerminalUnavailable`` naming it;
its worker is stopped (gracefully, or killed when hung or past the grace period) and spawned again
after a delay that doubles from ``backoff_initial`` to ``backoff_max``, with jitter so that many
terminals failing together do not restart in lockstep.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections import deque
from datetime import UTC, datetime
from typing import Any

from ..errors import BadRequest, TerminalError, TerminalUnavailable
from ..terminal import constants as c
from ..terminal.api import API_FUNCTIONS
from .bus import BarEvent, EventBus, TerminalEvent, TickEvent
from .config import PoolConfig, TerminalConfig
from .rpc import WorkerClient, WorkerStartError
from .stats import CallStats, LogLine, TerminalStatus, UptimeMeter
from .worker import StreamCursor, WorkerSpec

__all__ = ["Backoff", "TerminalSupervisor", "deadline_kind"]

# A worker up this long without trouble has its restart delay reset to the initial one.
STABLE_AFTER_S = 30.0
# last_error codes meaning the terminal lost its connection: check health now, not at the next tick.
_CONNECTION_LOST = frozenset({c.RES_E_INTERNAL_FAIL_CONNECT, c.RES_E_INTERNAL_FAIL_TIMEOUT})

_HISTORY_CALLS = frozenset(name for name in API_FUNCTIONS if name.startswith(("copy_", "history_")))
_TRADE_CALLS = frozenset({"order_send", "order_check"})
_CONNECT_CALLS = frozenset({"initialize", "login"})


def deadline_kind(function: str) -> str:
    """Which ``DeadlineConfig`` field bounds ``function``: fast, history, trade or connect."""
    if function in _HISTORY_CALLS:
        return "history"
    if function in _TRADE_CALLS:
        return "trade"
    if function in _CONNECT_CALLS:
        return "connect"
    return "fast"


class Backoff:
    """Restart delays: ``initial`` doubling to ``maximum``, each drawn from [delay/2, delay]."""

    def __init__(self, initial: float, maximum: float, rng: random.Random | None = None) -> None:
        self.initial = initial
        self.maximum = maximum
        self.failures = 0
        self._rng = rng or random.Random()

    def next_delay(self) -> float:
        """The delay before the next attempt (and count this attempt)."""
        ceiling = min(self.maximum, self.initial * float(2 ** min(self.failures, 32)))
        self.failures += 1
        jitter: float = self._rng.random()
        return ceiling / 2 + jitter * ceiling / 2

    def reset(self) -> None:
        """Back to the initial delay (the terminal has been healthy for a while)."""
        self.failures = 0


class TerminalSupervisor:
    """One terminal's worker, state, statistics and recent log lines."""

    def __init__(
        self, terminal: TerminalConfig, config: PoolConfig, bus: EventBus, *, sim_anchor_msc: int
    ) -> None:
        self.terminal = terminal
        self._config = config
        self._sim_anchor_msc = sim_anchor_msc
        self._bus = bus
        self.status = "stopped"
        self.reason = "not started"
        self._client: WorkerClient | None = None
        self._cursors: dict[str, StreamCursor] = {}
        self._backoff = Backoff(config.backoff_initial, config.backoff_max)
        self._recovery: asyncio.Task[None] | None = None
        self._checking: asyncio.Task[None] | None = None
        self._next_attempt: float | None = None
        self._up_since: float | None = None
        self._stopping = False
        self.stats = CallStats()
        self.uptime = UptimeMeter()
        self.restarts = 0
        self.reconnects = 0
        self.last_check: datetime | None = None
        self.logs: deque[LogLine] = deque(maxlen=config.log_lines)

    @property
    def id(self) -> str:
        return self.terminal.id

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Spawn the worker; when that fails the terminal is down and retried with backoff."""
        self._stopping = False
        try:
            await self._spawn()
        except WorkerStartError as exc:
            self._mark_down(f"start failed: {exc}")
            self._recover()

    async def stop(self) -> None:
        """Stop the worker for good (pool shutdown)."""
        self._stopping = True
        for task in (self._recovery, self._checking):
            if task is not None:
                task.cancel()
        client, self._client = self._client, None
        if client is not None:
            await client.stop(self._config.stop_grace)
        self._set_status("stopped", "pool stopped")

    async def restart(self) -> None:
        """Stop and spawn again now (admin request), without backoff."""
        if self._recovery is not None:
            self._recovery.cancel()
        client, self._client = self._client, None
        self._set_status("starting", "restart requested")
        if client is not None:
            await client.stop(self._config.stop_grace)
        self.restarts += 1
        try:
            await self._spawn()
        except WorkerStartError as exc:
            self._mark_down(f"restart failed: {exc}")
            self._recover()

    async def _spawn(self) -> None:
        self._set_status("starting", "spawning worker")
        deadlines = self._config.deadlines
        spec = WorkerSpec(
            backend=self.terminal.backend_spec(self._config.sim, sim_anchor_msc=self._sim_anchor_msc),
            poll_interval=self._config.poll_interval,
            call_timeout=max(deadlines.fast, deadlines.history, deadlines.trade, deadlines.connect),
            cursors=dict(self._cursors),
        )
        client = WorkerClient(self.id, on_event=self._on_event, on_lost=self._on_lost, on_hung=self._on_hung)
        self._client = client
        try:
            await client.start(spec, deadlines.connect)
        except WorkerStartError:
            self._client = None
            client.kill("start failed")
            await client.reap()
            raise
        self._log("INFO", f"worker pid {client.pid} up")
        self._up_since = time.monotonic()
        self._set_status("up", "serving")

    def _recover(self) -> None:
        if self._stopping or (self._recovery is not None and not self._recovery.done()):
            return
        # The first attempt is scheduled now, so that the error that took the terminal down can
        # already say when it will be back (retry_after).
        delay = self._schedule_attempt()
        self._recovery = asyncio.get_running_loop().create_task(self._recover_loop(delay))

    def _schedule_attempt(self) -> float:
        delay = self._backoff.next_delay()
        self._next_attempt = time.monotonic() + delay
        self._log("WARNING", f"restarting in {delay:.2f} s (attempt {self._backoff.failures})")
        return delay

    async def _recover_loop(self, delay: float) -> None:
        while not self._stopping:
            await asyncio.sleep(delay)
            self.restarts += 1
            try:
                await self._spawn()
                return
            except WorkerStartError as exc:
                self._mark_down(f"restart failed: {exc}")
            delay = self._schedule_attempt()

    def _fail(self, client: WorkerClient, reason: str, *, kill: bool) -> None:
        """Take the terminal down because of ``client``'s worker, and schedule its restart."""
        if client is not self._client:
            return  # an old worker's late news
        self._client = None
        self._mark_down(reason)
        if kill:
            client.kill(reason)
        asyncio.get_running_loop().create_task(self._retire(client, graceful=not kill))
        self._recover()

    async def _retire(self, client: WorkerClient, *, graceful: bool) -> None:
        if graceful:
            await client.stop(self._config.stop_grace)
        else:
            await client.reap()
        self._log("INFO", f"worker pid {client.pid} ended with exit code {client.exitcode}")

    def _on_lost(self, client: WorkerClient, reason: str) -> None:
        self._fail(client, reason, kill=True)

    def _on_hung(self, client: WorkerClient, reason: str) -> None:
        self._fail(client, f"hung: {reason}", kill=True)

    # ------------------------------------------------------------------ calls

    async def call(
        self, function: str, args: tuple[Any, ...], kwargs: dict[str, Any], deadline: float | None
    ) -> tuple[Any, Any]:
        """Run one API function on the worker; returns ``(result, last_error)``."""
        limit = deadline if deadline is not None else getattr(self._config.deadlines, deadline_kind(function))
        client = self._serving_client()
        started = time.perf_counter()
        try:
            result, last_error = await client.request(("call", function, args, kwargs), limit, function)
        except (TerminalUnavailable, TerminalError, BadRequest) as exc:
            self.stats.record_failure(f"{function}: {exc.message}")
            raise
        failed = result is None or result is False
        self.stats.record(
            time.perf_counter() - started,
            f"{function}: {last_error[1]} ({last_error[0]})" if failed and last_error else None,
        )
        if failed and last_error and last_error[0] in _CONNECTION_LOST:
            self.check_soon()
        return result, last_error

    async def control(self, action: str, kwargs: dict[str, Any]) -> Any:
        """A simulator control on this terminal's worker."""
        client = self._serving_client()
        result, _ = await client.request(
            ("control", action, kwargs), self._config.deadlines.fast, f"control {action}"
        )
        return result

    def _serving_client(self) -> WorkerClient:
        client = self._client
        if self.status != "up" or client is None or client.closed:
            raise TerminalUnavailable(
                f"terminal {self.id} is {self.status}: {self.reason}",
                terminal_id=self.id,
                retry_after=self.retry_after() or 1,
            )
        return client

    def retry_after(self) -> int | None:
        """Whole seconds until the scheduled restart (at least 1; 1 when none is scheduled yet); None
        while the terminal serves."""
        if self.status == "up" and self._client is not None and not self._client.closed:
            return None
        if self._next_attempt is None:
            return 1
        return max(1, math.ceil(self._next_attempt - time.monotonic()))

    # ------------------------------------------------------------------ health

    def check_soon(self) -> None:
        """Run a health check now unless one is running."""
        if self._checking is None or self._checking.done():
            self._checking = asyncio.get_running_loop().create_task(self.check())

    async def check(self) -> None:
        """``terminal_info()``; when not connected, log in again in place, else take the terminal down."""
        client = self._client
        if self.status != "up" or client is None:
            return
        self.last_check = datetime.now(UTC)
        try:
            info, last_error = await client.request(
                ("call", "terminal_info", (), {}), self._config.deadlines.fast, "health check"
            )
            if info is not None and info.connected:
                if self._up_since is not None and time.monotonic() - self._up_since >= STABLE_AFTER_S:
                    self._backoff.reset()
                return
            self._log("WARNING", f"not connected ({last_error}); logging in again")
            connected, last_error = await client.request(
                ("reconnect",), self._config.deadlines.connect, "reconnect"
            )
        except TerminalUnavailable:
            return  # a timeout or a death: already being handled
        except (TerminalError, BadRequest) as exc:
            self._fail(client, f"health check failed: {exc.message}", kill=False)
            return
        if connected:
            self.reconnects += 1
            self._log("INFO", "reconnected")
        else:
            self._fail(client, f"not connected and reconnect failed: {last_error}", kill=False)

    # ------------------------------------------------------------------ events, status

    def _on_event(self, message: tuple[Any, ...]) -> None:
        kind = message[0]
        if kind == "ticks":
            _, symbol, ticks, cursor = message
            self._cursors[symbol] = cursor
            self._bus.publish("ticks", TickEvent(self.id, symbol, ticks))
        elif kind == "bars":
            _, symbol, rates, cursor = message
            self._cursors[symbol] = cursor
            for index in range(len(rates)):
                self._bus.publish("bars", BarEvent(self.id, symbol, c.TIMEFRAME_M1, rates[index : index + 1]))
        elif kind == "log":
            _, created, level, text = message
            self.logs.append(LogLine(datetime.fromtimestamp(created, UTC), level, text))

    def _log(self, level: str, message: str) -> None:
        self.logs.append(LogLine(datetime.now(UTC), level, f"supervisor: {message}"))

    def _mark_down(self, reason: str) -> None:
        self._log("ERROR", f"down: {reason}")
        self.stats.last_error = reason
        self._set_status("down", reason)

    def _set_status(self, status: str, reason: str) -> None:
        changed = status != self.status
        self.status, self.reason = status, reason
        self.uptime.set_up(status == "up")
        if status == "up":
            self._next_attempt = None
        if changed:
            self._bus.publish("terminal", TerminalEvent(self.id, status, reason))

    def snapshot(self) -> TerminalStatus:
        """The terminal's status for the admin API."""
        client = self._client
        serving = client is not None and self.status == "up"
        return TerminalStatus(
            terminal_id=self.id,
            backend=self.terminal.backend,
            status=self.status,
            symbols=self.terminal.symbols,
            accounts=self.terminal.routes_login,
            pid=client.pid if serving and client is not None else None,
            started_at=datetime.fromtimestamp(client.started_at, UTC)
            if serving and client is not None and client.started_at
            else None,
            uptime_pct=self.uptime.percent(),
            restarts=self.restarts,
            reconnects=self.reconnects,
            calls=self.stats.calls,
            errors=self.stats.errors,
            last_error=self.stats.last_error,
            latency_p50_ms=self.stats.percentile_ms(50),
            latency_p99_ms=self.stats.percentile_ms(99),
            last_check=self.last_check,
        )
