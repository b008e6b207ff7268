"""``TerminalPool``: the terminals behind one async interface, routed by symbol and account.

Each terminal is served by its own worker process (``TerminalSupervisor``); a health loop checks
them every ``health_interval``. Calls are ``await pool.call(terminal_id, "copy_rates_from_pos",
...)`` and return what the backend returned (``None`` on failure, as the module does); the pool
raises only for the pool's own failures: ``TerminalNotFound``, ``TerminalUnavailable`` (down: at
once, naming the terminal) and ``TerminalTimeout`` (a missed deadline).

``last_error`` is per caller: after ``result = await pool.call(t, f, ...)``, ``await pool.call(t,
"last_error")`` (or ``pool.last_error(t)``) gives the error of *that* call, even while other tasks
call the same terminal, because the worker sends ``last_error()`` with every answer and the pool
keeps it in the calling task's context.
"""

from __future__ import annotations

import asyncio
import contextvars
import time
from typing import Any

from ..errors import AccountNotFound, SymbolNotFound, TerminalNotFound
from .bus import EventBus
from .config import PoolConfig, default_pool_config
from .stats import LogLine, TerminalStatus, health_summary
from .supervisor import TerminalSupervisor

__all__ = ["TerminalPool"]

# (terminal_id, (code, message)) of the calling task's latest call.
_LAST_ERROR: contextvars.ContextVar[tuple[str, tuple[int, str]] | None] = contextvars.ContextVar(
    "mt5gateway_pool_last_error", default=None
)


class TerminalPool:
    """The configured terminals, each in its own worker process, with routing and supervision."""

    def __init__(self, config: PoolConfig | None = None, *, bus: EventBus | None = None) -> None:
        self.config = config if config is not None else default_pool_config()
        self.bus = bus if bus is not None else EventBus()
        # The sim clocks of every terminal share this anchor (see TerminalConfig.backend_spec).
        sim_anchor_msc = time.time_ns() // 1_000_000
        self._terminals = {
            t.id: TerminalSupervisor(t, self.config, self.bus, sim_anchor_msc=sim_anchor_msc)
            for t in self.config.terminals
        }
        self._by_symbol = {symbol: t.id for t in self.config.terminals for symbol in t.symbols}
        self._by_login = {login: t.id for t in self.config.terminals for login in t.routes_login}
        self._health_task: asyncio.Task[None] | None = None

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Spawn every worker (in parallel) and start the health loop; returns when each is up or down."""
        await asyncio.gather(*(t.start() for t in self._terminals.values()))
        self._health_task = asyncio.get_running_loop().create_task(self._health_loop())

    async def stop(self) -> None:
        """Stop the health loop and every worker."""
        if self._health_task is not None:
            self._health_task.cancel()
            self._health_task = None
        await asyncio.gather(*(t.stop() for t in self._terminals.values()))

    async def __aenter__(self) -> TerminalPool:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def _health_loop(self) -> None:
        while True:
            await asyncio.sleep(self.config.health_interval)
            for terminal in self._terminals.values():
                terminal.check_soon()

    # ------------------------------------------------------------------ calls and routing

    @property
    def terminal_ids(self) -> list[str]:
        """The configured terminal ids, in config order."""
        return list(self._terminals)

    def _terminal(self, terminal_id: str) -> TerminalSupervisor:
        terminal = self._terminals.get(terminal_id)
        if terminal is None:
            raise TerminalNotFound(f"no terminal {terminal_id!r} is configured", terminal_id=terminal_id)
        return terminal

    async def call(
        self, terminal_id: str, function: str, *args: Any, deadline: float | None = None, **kwargs: Any
    ) -> Any:
        """Run ``function(*args, **kwargs)`` on the terminal's backend within ``deadline`` seconds."""
        terminal = self._terminal(terminal_id)
        if function == "last_error":
            remembered = _LAST_ERROR.get()
            if remembered is not None and remembered[0] == terminal_id:
                return remembered[1]
        result, last_error = await terminal.call(function, args, kwargs, deadline)
        if last_error is not None:
            code, message = last_error
            _LAST_ERROR.set((terminal_id, (int(code), str(message))))
        return result

    def last_error(self, terminal_id: str) -> tuple[int, str] | None:
        """``last_error()`` after this task's latest call to ``terminal_id`` (None if it made none)."""
        remembered = _LAST_ERROR.get()
        return remembered[1] if remembered is not None and remembered[0] == terminal_id else None

    def terminal_for_symbol(self, symbol: str) -> str:
        """The terminal serving ``symbol``."""
        terminal_id = self._by_symbol.get(symbol)
        if terminal_id is None:
            raise SymbolNotFound(f"no terminal serves symbol {symbol!r}", symbol=symbol)
        return terminal_id

    def terminal_for_login(self, login: int) -> str:
        """The terminal holding account ``login``."""
        terminal_id = self._by_login.get(int(login))
        if terminal_id is None:
            raise AccountNotFound(f"no terminal holds account {login}", login=login)
        return terminal_id

    async def call_symbol(self, symbol: str, function: str, *args: Any, **kwargs: Any) -> Any:
        """``call`` on the terminal that serves ``symbol``."""
        return await self.call(self.terminal_for_symbol(symbol), function, *args, **kwargs)

    async def sim_control(self, terminal_id: str, action: str, **kwargs: Any) -> Any:
        """A simulator control (fault, clock) on a ``sim`` terminal; never one of the 32 calls."""
        return await self._terminal(terminal_id).control(action, kwargs)

    # ------------------------------------------------------------------ observability, admin

    def status(self, terminal_id: str) -> TerminalStatus:
        """One terminal's status snapshot."""
        return self._terminal(terminal_id).snapshot()

    def statuses(self) -> list[TerminalStatus]:
        """Every terminal's status snapshot, in config order."""
        return [t.snapshot() for t in self._terminals.values()]

    def retry_after(self, terminal_id: str) -> int | None:
        """Whole seconds until the terminal's scheduled restart (at least 1); None while it serves."""
        return self._terminal(terminal_id).retry_after()

    def health(self) -> dict[str, Any]:
        """``ok`` / ``degraded`` / ``error`` with aggregate counters (SPEC 5)."""
        return health_summary(self.statuses())

    def logs(self, terminal_id: str, lines: int = 100) -> list[LogLine]:
        """The last ``lines`` log lines of the terminal's worker, oldest first."""
        kept = self._terminal(terminal_id).logs
        return list(kept)[-lines:] if lines > 0 else []

    async def restart(self, terminal_id: str) -> None:
        """Restart one terminal's worker now."""
        await self._terminal(terminal_id).restart()

    async def restart_all(self) -> None:
        """Restart every worker now (in parallel)."""
        await asyncio.gather(*(t.restart() for t in self._terminals.values()))
