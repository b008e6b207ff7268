"""Account sessions: which account a terminal is logged into, switched under that terminal's lock.

The MetaTrader5 module trades and reports for the account the terminal is logged into, so a
terminal that hosts several accounts must ``login()`` to the right one before each request, and
no other request may switch it away until that request is done. ``AccountSessions.session`` holds
the terminal's gate for the whole request: requests for the account the terminal is on run
together (the worker still runs one call at a time, but calls queue up without a round trip
between them); a request for another account waits for them, switches alone, and reports what the
switch cost.

The account a terminal is on is remembered between requests. A restarted worker logs into its
configured account again, so the memory is dropped when the terminal leaves "up" (the feeds call
``forget`` on the pool's terminal events) or a call fails; the next request checks again.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Protocol

from mt5gateway.errors import (
    AccountNotFound,
    Forbidden,
    GatewayError,
    OrderRejected,
    TerminalError,
    TerminalUnavailable,
)
from mt5gateway.terminal import AccountInfo
from mt5gateway.terminal import constants as c

__all__ = ["AccountSessions", "PoolCalls", "Session", "require_result"]


class PoolCalls(Protocol):
    """The part of ``TerminalPool`` (docs/architecture.md) that account views and trading use."""

    async def call(
        self, terminal_id: str, function: str, *args: Any, deadline: float | None = None, **kwargs: Any
    ) -> Any: ...

    @property
    def terminal_ids(self) -> list[str]: ...

    def terminal_for_symbol(self, symbol: str) -> str: ...

    def terminal_for_login(self, login: int) -> str: ...

    def retry_after(self, terminal_id: str) -> int | None: ...


async def require_result(pool: PoolCalls, terminal_id: str, function: str, result: Any) -> Any:
    """``result``, or ``TerminalError`` with the terminal's ``last_error()`` when it is None/False."""
    if result is not None and result is not False:
        return result
    code, message = await pool.call(terminal_id, "last_error")
    raise TerminalError(
        f"{function} failed on {terminal_id}: {message}",
        terminal_id=terminal_id,
        last_error={"code": code, "message": message},
    )


@dataclass(frozen=True)
class Session:
    """One request's hold on a terminal, logged into ``login`` (None: whatever it is on)."""

    pool: PoolCalls
    terminal_id: str
    login: int | None
    switch_ms: float

    async def call(self, function: str, *args: Any, **kwargs: Any) -> Any:
        """Call a terminal function; None/False becomes ``TerminalError`` naming ``last_error()``."""
        result = await self.pool.call(self.terminal_id, function, *args, **kwargs)
        return await require_result(self.pool, self.terminal_id, function, result)

    async def call_raw(self, function: str, *args: Any, **kwargs: Any) -> Any:
        """Call a terminal function and return its answer as is (None included)."""
        return await self.pool.call(self.terminal_id, function, *args, **kwargs)

    def metadata(self) -> dict[str, Any]:
        """What responses report about the session."""
        return {
            "terminal_id": self.terminal_id,
            "login": self.login,
            "login_switch_ms": round(self.switch_ms, 3),
        }


class _Gate:
    """Who may use one terminal now: any number of requests for the account it is on, or one switch.

    Requests for the account the terminal is on share it (their calls pipeline into the worker);
    a request for another account waits until they are done, and from then on newcomers for the
    current account wait behind it, so a switch is never starved. ``None`` (no account named) shares
    with anyone, but never with a switch in progress.
    """

    def __init__(self) -> None:
        self.changed = asyncio.Condition()
        self.login: int | None = None
        self.active = 0
        self.switching = False
        self.waiting: dict[int | None, int] = {}

    def _may_enter(self, login: int | None) -> bool:
        if self.switching:
            return False
        if self.active == 0 or login is None:
            return True
        others_waiting = any(count for other, count in self.waiting.items() if other not in (login, None))
        return self.login == login and not others_waiting

    async def enter(self, login: int | None, must_switch: Callable[[], bool]) -> bool:
        """Wait for a turn; True when this request must switch the terminal (``switched`` after)."""
        async with self.changed:
            self.waiting[login] = self.waiting.get(login, 0) + 1
            try:
                await self.changed.wait_for(lambda: self._may_enter(login))
            finally:
                self.waiting[login] -= 1
                if not self.waiting[login]:
                    del self.waiting[login]
            self.active += 1
            if login is None:
                return False
            self.login = login
            self.switching = must_switch()
            return self.switching

    async def switched(self) -> None:
        """The switch is done (or failed): let the waiting requests in."""
        async with self.changed:
            self.switching = False
            self.changed.notify_all()

    async def leave(self) -> None:
        """A request is done with the terminal."""
        async with self.changed:
            self.active -= 1
            self.changed.notify_all()


class AccountSessions:
    """Per-terminal locks and the account each terminal is on."""

    def __init__(self, pool: PoolCalls, *, default_logins: dict[str, int] | None = None) -> None:
        self.pool = pool
        # The account a request without a login trades on (the terminal's configured login), so that
        # such a request never lands on whichever account another request switched to last.
        self.default_logins = default_logins or {}
        self._gates: dict[str, _Gate] = {}
        # terminal -> the login it is on (forgotten when it leaves "up": see ``forget``)
        self._current: dict[str, int] = {}
        # Accounts found logged in on terminals whose config names none (login -> terminal, server).
        self.discovered: dict[int, tuple[str, str]] = {}
        self.switches = 0

    async def discover(self) -> None:
        """Ask every terminal which account it is on (for terminals configured without logins)."""

        async def probe(terminal_id: str) -> None:
            try:
                info: AccountInfo | None = await self.pool.call(terminal_id, "account_info")
            except GatewayError:
                return  # a terminal that is down is probed again on the next discovery
            if info is not None:
                self.discovered.setdefault(int(info.login), (terminal_id, str(info.server)))

        await asyncio.gather(*(probe(terminal_id) for terminal_id in self.pool.terminal_ids))

    async def route(self, *, login: int | None = None, symbol: str | None = None) -> str:
        """The terminal that hosts ``login`` (configured, else discovered), else the one serving ``symbol``."""
        if login is None:
            if symbol is None:
                raise ValueError("a login or a symbol is needed to choose a terminal")
            return self.pool.terminal_for_symbol(symbol)
        try:
            return self.pool.terminal_for_login(login)
        except AccountNotFound:
            if login not in self.discovered:
                await self.discover()
            found = self.discovered.get(login)
            if found is None:
                raise
            return found[0]

    def forget(self, terminal_id: str) -> None:
        """Drop what is known of the terminal's account (it left "up", or a call failed)."""
        self._current.pop(terminal_id, None)

    async def connect(
        self, login: int, *, password: str, server: str | None = None, terminal_id: str | None = None
    ) -> tuple[str, AccountInfo]:
        """Log a terminal in to ``login`` with its password (the MT5 Bridge Microservice's connect).

        The terminal is the one hosting ``login`` (configured or discovered), else ``terminal_id``,
        else the pool's first. A wrong password or server is ``Forbidden`` (the trade server refused
        the credentials) with the terminal's ``last_error()``; any other failure is ``TerminalError``.
        Returns the terminal and its ``account_info()``; the login is remembered as discovered there.
        """
        if terminal_id is None:
            try:
                terminal_id = await self.route(login=login)
            except AccountNotFound:
                terminal_id = self.pool.terminal_ids[0]
        gate = self._gates.setdefault(terminal_id, _Gate())
        # Entered as a switch to ``login``, so that no other request runs on the terminal meanwhile.
        await gate.enter(login, must_switch=lambda: True)
        try:
            self.forget(terminal_id)
            # The module refuses server=None (Invalid "server" argument): without one, none is sent.
            if server is None:
                ok = await self.pool.call(terminal_id, "login", login, password=password)
            else:
                ok = await self.pool.call(terminal_id, "login", login, password=password, server=server)
            if not ok:
                code, message = await self.pool.call(terminal_id, "last_error")
                if code == c.RES_E_AUTH_FAILED:
                    raise Forbidden(
                        f"the trade server refused login {login}: wrong password or server",
                        terminal_id=terminal_id,
                        last_error={"code": code, "message": message},
                    )
                await require_result(self.pool, terminal_id, "login", ok)
            info: AccountInfo = await require_result(
                self.pool, terminal_id, "account_info", await self.pool.call(terminal_id, "account_info")
            )
            self._current[terminal_id] = login
            self.discovered[login] = (terminal_id, str(info.server))
            return terminal_id, info
        finally:
            await gate.switched()
            await gate.leave()

    @asynccontextmanager
    async def session(self, terminal_id: str, login: int | None = None) -> AsyncIterator[Session]:
        """Hold ``terminal_id`` for one request, logged into ``login`` (default: the configured one)."""
        if login is None:
            login = self.default_logins.get(terminal_id)
        gate = self._gates.setdefault(terminal_id, _Gate())
        switching = await gate.enter(login, must_switch=lambda: self._current.get(terminal_id) != login)
        try:
            switch_ms = 0.0
            if switching:
                try:
                    switch_ms = await self._switch(terminal_id, login)
                finally:
                    await gate.switched()
            yield Session(pool=self.pool, terminal_id=terminal_id, login=login, switch_ms=switch_ms)
        except (TerminalUnavailable, TerminalError) as exc:
            # A refused order leaves the terminal where it was; anything else may have restarted it.
            if not isinstance(exc, OrderRejected):
                self.forget(terminal_id)
            raise
        finally:
            await gate.leave()

    async def _switch(self, terminal_id: str, login: int | None) -> float:
        assert login is not None  # only a request for a named account switches
        info: AccountInfo | None = await self.pool.call(terminal_id, "account_info")
        if info is not None and info.login == login:
            self._current[terminal_id] = login
            return 0.0
        started = time.perf_counter()
        ok = await self.pool.call(terminal_id, "login", login)
        await require_result(self.pool, terminal_id, "login", ok)
        self._current[terminal_id] = login
        self.switches += 1
        return (time.perf_counter() - started) * 1000
