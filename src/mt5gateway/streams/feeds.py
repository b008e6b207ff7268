"""What the hub publishes: the pool's ticks, bars and terminal events, and account channels.

Ticks, bars and terminal events come from the pool's event bus and are published only when a
channel has subscribers (a tick's message carries the newest tick of the event and coalesces per
symbol). ``quotes:SYMBOL`` carries the same ticks in the MT5 Bridge Microservice's ``tick_data``
shape (``symbol, bid, ask, spread`` in points, ``time`` ISO, ``volume``, and a top-level ISO
``timestamp``); its first subscriber gets the symbol's current tick at once. The pool publishes closed M1 bars; when one closes a bar of a longer subscribed timeframe
(``bars:EURUSD:H1`` at the top of the hour), that bar is read from the terminal and published. Account channels (``account:LOGIN``, ``positions:LOGIN``, ``orders:LOGIN``) are polled:
one watcher per login with subscribers reads the terminal every ``account_poll_s`` and publishes a
channel only when its content changed since the last push. A new subscriber gets the last pushed
content at once, so it never waits for a change to learn the current state.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any, Protocol

from mt5gateway.accounts.service import AccountService
from mt5gateway.errors import GatewayError
from mt5gateway.terminal import TIMEFRAME_SECONDS, TIMEFRAMES, timeframe_name
from mt5gateway.terminal.arrays import last_row

from .hub import Hub
from .protocol import parse_channel

__all__ = ["ACCOUNT_KINDS", "EventSource", "Feeds", "account_message", "quote_message"]

log = logging.getLogger(__name__)

ACCOUNT_KINDS = ("account", "positions", "orders")
_MESSAGE_TYPES = {"account": "account_info", "positions": "positions", "orders": "orders"}


class EventSource(Protocol):
    """The pool's event bus (``TerminalPool.bus``)."""

    def subscribe(self, topic: str, *, maxsize: int = ...) -> Any: ...


def account_message(kind: str, login: int, data: Any, fetched_at: str) -> dict[str, Any]:
    """The message of an account channel; ``account_info`` also names ``margin_free`` as the MT5 Bridge
    Microservice's clients read it (``free_margin``)."""
    if kind == "account":
        data = {**data, "free_margin": data["margin_free"]}
    return {
        "type": _MESSAGE_TYPES[kind],
        "channel": f"{kind}:{login}",
        "login": login,
        "data": data,
        "fetched_at": fetched_at,
        "timestamp": fetched_at,
    }


def _iso_msc(msc: int) -> str:
    return datetime.fromtimestamp(msc / 1000, UTC).isoformat(timespec="milliseconds")


def quote_message(symbol: str, terminal_id: str, tick: dict[str, Any], digits: int) -> dict[str, Any]:
    """A ``quotes:SYMBOL`` message (the MT5 Bridge Microservice's ``tick_data``) for one tick's fields."""
    return {
        "type": "tick_data",
        "channel": f"quotes:{symbol}",
        "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "terminal_id": terminal_id,
        "data": {
            "symbol": symbol,
            "bid": tick["bid"],
            "ask": tick["ask"],
            "spread": round((tick["ask"] - tick["bid"]) * 10**digits),
            "time": _iso_msc(tick["time_msc"]),
            "volume": tick["volume"],
        },
    }


class Feeds:
    """Pumps from the bus into the hub, and the account watchers."""

    def __init__(
        self, hub: Hub, bus: EventSource, accounts: AccountService, *, account_poll_s: float = 1.0
    ) -> None:
        self.hub = hub
        self.bus = bus
        self.accounts = accounts
        self.pool = accounts.sessions.pool
        self.account_poll_s = account_poll_s
        self._fetches: set[asyncio.Task[None]] = set()
        self._tasks: list[asyncio.Task[None]] = []
        self._watchers: dict[int, asyncio.Task[None]] = {}
        # A symbol's digits (a point is 10**-digits in MT5), read when its quotes channel is first wanted.
        self._digits: dict[str, int] = {}
        # channel -> (content compared for changes, last message pushed)
        self._last: dict[str, tuple[Any, dict[str, Any]]] = {}
        hub.add_listener(self._on_subscription)

    async def start(self) -> None:
        """Start the bus pumps."""
        self._tasks = [
            asyncio.create_task(self._pump("ticks", self._on_tick), name="feed-ticks"),
            asyncio.create_task(self._pump("bars", self._on_bar), name="feed-bars"),
            asyncio.create_task(self._pump("terminal", self._on_terminal), name="feed-terminals"),
        ]

    async def stop(self) -> None:
        """Stop the pumps and the account watchers."""
        tasks = [*self._tasks, *self._watchers.values(), *self._fetches]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        self._watchers.clear()

    async def _pump(self, topic: str, handle: Any) -> None:
        subscription = self.bus.subscribe(topic)
        try:
            events: AsyncIterator[Any] = subscription
            async for event in events:
                handle(event)
        finally:
            subscription.close()

    def _on_tick(self, event: Any) -> None:
        if not len(event.ticks):
            return
        channel = f"ticks:{event.symbol}"
        if self.hub.subscriber_count(channel):
            message = {
                "type": "tick_data",
                "channel": channel,
                "symbol": event.symbol,
                "terminal_id": event.terminal_id,
                "data": last_row(event.ticks),
            }
            self.hub.publish(channel, message, coalesce=True)
        digits = self._digits.get(event.symbol)
        if digits is not None and self.hub.subscriber_count(f"quotes:{event.symbol}"):
            self._publish_quote(event.symbol, event.terminal_id, last_row(event.ticks), digits, coalesce=True)

    def _publish_quote(
        self, symbol: str, terminal_id: str, tick: dict[str, Any], digits: int, *, coalesce: bool
    ) -> None:
        """Publish a tick on ``quotes:SYMBOL``, kept as the channel's snapshot for new subscribers."""
        message = quote_message(symbol, terminal_id, tick, digits)
        self._last[message["channel"]] = (None, message)
        self.hub.publish(message["channel"], message, coalesce=coalesce)

    def _spawn(self, coroutine: Any) -> None:
        task: asyncio.Task[None] = asyncio.create_task(coroutine)
        self._fetches.add(task)
        task.add_done_callback(self._fetches.discard)

    async def _first_quote(self, symbol: str) -> None:
        """Read the symbol's digits and current tick, and publish that tick (a first subscriber
        would otherwise wait for the next one, long on a quiet market)."""
        try:
            terminal_id = self.pool.terminal_for_symbol(symbol)
            if symbol not in self._digits:
                info = await self.pool.call(terminal_id, "symbol_info", symbol)
                if info is None:
                    return
                self._digits[symbol] = int(info.digits)
            tick = await self.pool.call(terminal_id, "symbol_info_tick", symbol)
        except GatewayError as exc:
            log.warning("first quote of %s not read: %s", symbol, exc.message)
            return
        if tick is not None and f"quotes:{symbol}" not in self._last:
            self._publish_quote(symbol, terminal_id, tick._asdict(), self._digits[symbol], coalesce=False)

    def _on_bar(self, event: Any) -> None:
        """A closed M1 bar: publish it, and each subscribed longer timeframe whose bar it closes."""
        closed_at = int(event.rates.reshape(-1)[-1]["time"]) + TIMEFRAME_SECONDS[event.timeframe]
        prefix = f"bars:{event.symbol}:"
        for channel in self.hub.channels():
            if not channel.startswith(prefix):
                continue
            timeframe = TIMEFRAMES.get(channel.removeprefix(prefix))
            if timeframe is None or closed_at % TIMEFRAME_SECONDS[timeframe]:
                continue
            if timeframe == event.timeframe:
                self._publish_bar(channel, event.symbol, event.terminal_id, timeframe, event.rates)
            else:
                self._spawn(self._fetch_bar(channel, event.symbol, event.terminal_id, timeframe))

    async def _fetch_bar(self, channel: str, symbol: str, terminal_id: str, timeframe: int) -> None:
        """Read the bar that just closed (position 1: 0 is the one just opened) and publish it."""
        try:
            rates = await self.pool.call(terminal_id, "copy_rates_from_pos", symbol, timeframe, 1, 1)
        except GatewayError as exc:
            log.warning("closed %s bar of %s not read: %s", timeframe_name(timeframe), symbol, exc.message)
            return
        if rates is not None and len(rates):
            self._publish_bar(channel, symbol, terminal_id, timeframe, rates)

    def _publish_bar(self, channel: str, symbol: str, terminal_id: str, timeframe: int, rates: Any) -> None:
        message = {
            "type": "bar",
            "channel": channel,
            "symbol": symbol,
            "timeframe": timeframe_name(timeframe),
            "terminal_id": terminal_id,
            "data": last_row(rates.reshape(-1)),
        }
        self.hub.publish(channel, message)

    def _on_terminal(self, event: Any) -> None:
        if event.status != "up":
            # A restarted worker logs into its configured account: check it again before trading.
            self.accounts.sessions.forget(event.terminal_id)
        message = {
            "type": "terminal_status",
            "channel": "terminals",
            "terminal_id": event.terminal_id,
            "status": event.status,
            "reason": event.reason,
            "timestamp": datetime.now(UTC).isoformat(),
        }
        self.hub.publish("terminals", message)

    # -- account channels --

    def snapshot(self, channel: str) -> dict[str, Any] | None:
        """The last message pushed on an account or quotes channel (for a new subscriber), if any."""
        last = self._last.get(channel)
        return None if last is None else last[1]

    def _on_subscription(self, channel: str, count: int) -> None:
        kind, _, name = channel.partition(":")
        if kind == "quotes":
            if not count:
                self._last.pop(channel, None)
            elif channel not in self._last:
                self._spawn(self._first_quote(name))
            return
        if kind not in ACCOUNT_KINDS:
            return
        login = parse_channel(channel).login
        assert login is not None  # account channels always name one
        if count and login not in self._watchers:
            self._watchers[login] = asyncio.create_task(self._watch(login), name=f"feed-account-{login}")
        if not count:
            self._last.pop(channel, None)
            if not any(self.hub.subscriber_count(f"{k}:{login}") for k in ACCOUNT_KINDS):
                watcher = self._watchers.pop(login, None)
                if watcher is not None:
                    watcher.cancel()

    async def _watch(self, login: int) -> None:
        while True:
            try:
                await self._poll(login)
            except GatewayError as exc:
                # A terminal down or an account gone: keep the subscribers, try again next round.
                log.warning("account %s poll failed: %s", login, exc.message)
            await asyncio.sleep(self.account_poll_s)

    async def _poll(self, login: int) -> None:
        wanted = [kind for kind in ACCOUNT_KINDS if self.hub.subscriber_count(f"{kind}:{login}")]
        for kind in wanted:
            if kind == "account":
                info = await self.accounts.account(login)
                fetched_at = info.pop("fetched_at")
                info.pop("metadata")
                data: Any = info
            elif kind == "positions":
                data, metadata = await self.accounts.positions(login)
                fetched_at = metadata["fetched_at"]
            else:
                data, metadata = await self.accounts.orders(login)
                fetched_at = metadata["fetched_at"]
            channel = f"{kind}:{login}"
            last = self._last.get(channel)
            if last is not None and last[0] == data:
                continue
            message = account_message(kind, login, data, fetched_at)
            self._last[channel] = (data, message)
            self.hub.publish(channel, message)
