"""Order placement that is validated first and never sent twice.

Every mutating request (place, modify, cancel, close, SL/TP) goes through ``_journaled``:

1. the request is written to the journal under its ``(owner, Idempotency-Key)``; a repeat of a
   finished key gets the stored answer back (``replayed``), a repeat while the first is still in
   flight in this process waits for it, the same key with another body is a 409;
2. under the terminal's session lock the request is validated and built (a refusal drops the
   journal row: nothing was sent, the key may be used again);
3. the send attempt is committed, then ``order_send`` is called, then the answer is stored.

When a key's row says "sent, never answered" (the call timed out, or the gateway died mid-send),
the next repeat **reconciles** before anything else: orders and positions are found by the tag in
their comment (``#<tag>``, see ``journal.idempotency_tag``); modifications and cancellations are
checked against the order's or position's current state. Only when the terminal shows no trace of
the first attempt is the request sent again. That check is not blind: the pool runs one call at a
time per terminal, so a first ``order_send`` that reached the terminal has finished before the
reconciling query is answered (a terminal that still does not answer gives 503 again, and nothing
is sent).

A restart does not wait for repeats: ``start`` settles what the journal was left with
(``settle_unfinished``). Entries never sent are forgotten; each sent and never answered is looked up
the same way and its answer stored when its terminal shows it, so the journal says what happened
even for a client that never comes back. One with no trace stays unknown, and a repeat of its key
looks again before any send.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from mt5gateway.accounts.sessions import AccountSessions, Session
from mt5gateway.errors import (
    BadRequest,
    GatewayError,
    NotFound,
    OrderRejected,
    SymbolNotFound,
    TerminalError,
    TerminalUnavailable,
)
from mt5gateway.terminal import SymbolInfo, describe_retcode, record_to_dict, retcode_name
from mt5gateway.terminal import constants as c

from .journal import Journal, JournalEntry, fingerprint
from .schemas import OrderModify, OrderRequest, PositionModify, Side
from .validation import (
    FILLING_MODES,
    check_close_volume,
    check_expected_price,
    check_new_order,
    check_stops,
    check_tradeable,
    default_filling,
)

__all__ = ["OUTCOME_NOT_EXECUTED", "OUTCOME_UNKNOWN", "SUCCESS_RETCODES", "TradeOutcome", "TradingService"]

log = logging.getLogger(__name__)

SUCCESS_RETCODES = frozenset({c.TRADE_RETCODE_DONE, c.TRADE_RETCODE_PLACED, c.TRADE_RETCODE_DONE_PARTIAL})
# "Not done at that price": nothing was executed, so a market deal may be re-priced and sent again.
REPRICE_RETCODES = frozenset(
    {c.TRADE_RETCODE_REQUOTE, c.TRADE_RETCODE_PRICE_OFF, c.TRADE_RETCODE_PRICE_CHANGED}
)
# Re-pricings of one market deal after a requote (the official module's Buy()/Sell() retry too).
REPRICE_ATTEMPTS = 3

_ORDER_TYPES: dict[tuple[Side, str], int] = {
    ("buy", "market"): c.ORDER_TYPE_BUY,
    ("sell", "market"): c.ORDER_TYPE_SELL,
    ("buy", "limit"): c.ORDER_TYPE_BUY_LIMIT,
    ("sell", "limit"): c.ORDER_TYPE_SELL_LIMIT,
    ("buy", "stop"): c.ORDER_TYPE_BUY_STOP,
    ("sell", "stop"): c.ORDER_TYPE_SELL_STOP,
    ("buy", "stop_limit"): c.ORDER_TYPE_BUY_STOP_LIMIT,
    ("sell", "stop_limit"): c.ORDER_TYPE_SELL_STOP_LIMIT,
}
_BUY_ORDER_TYPES = frozenset(t for (side, _), t in _ORDER_TYPES.items() if side == "buy")
# Reconciliation looks through all of the account's history the terminal keeps: it runs only after
# a lost answer, and server clocks (and a fast simulated clock) need not match ours.
_HISTORY_FROM = datetime(1970, 1, 2, tzinfo=UTC)
_HISTORY_AHEAD = timedelta(days=3650)

# What an error of a trading request says about the request (``outcome``), with a sentence.
OUTCOME_UNKNOWN = "unknown"
OUTCOME_NOT_EXECUTED = "not_executed"
_UNKNOWN = (
    "The request was sent to the terminal and its answer was lost: it may have been executed. "
    "Retry with the same Idempotency-Key ({key}): the gateway looks for it on the terminal before "
    "sending anything again, so it is never executed twice"
)
_NOT_EXECUTED = (
    "Nothing was sent to the terminal; the request may be repeated (with the same key or a new one)"
)


def _with_outcome(exc: GatewayError, outcome: str, sentence: str) -> GatewayError:
    """A copy of ``exc`` (same class, status and fields) that leads with ``sentence`` and says ``outcome``."""
    return type(exc)(f"{sentence}. ({exc.message})", **exc.extra, outcome=outcome)


@dataclass(frozen=True)
class TradeOutcome:
    """The HTTP status and JSON body of a trading request's answer."""

    status: int
    body: dict[str, Any]
    replayed: bool = False

    def with_metadata(self, **metadata: Any) -> TradeOutcome:
        """The same answer with extra ``metadata`` fields."""
        body = {**self.body, "metadata": {**self.body.get("metadata", {}), **metadata}}
        return TradeOutcome(self.status, body, self.replayed or bool(metadata.get("replayed")))


@dataclass
class _Prepared:
    """A request ready to send, and how to reconcile it if its answer is lost."""

    request: dict[str, Any]
    extra: dict[str, Any] = field(default_factory=dict)


Prepare = Callable[[Session, JournalEntry], Awaitable[_Prepared]]
Reconcile = Callable[[Session, JournalEntry], Awaitable[dict[str, Any] | None]]


def _tag_comment(tag: str, comment: str) -> str:
    # The tag goes first so that a server truncating the comment cuts the client's words, not the tag.
    return f"#{tag} {comment}".rstrip()


def _opposite(side: Side) -> Side:
    return "sell" if side == "buy" else "buy"


def _result_body(result: Any) -> dict[str, Any]:
    body = record_to_dict(result)
    body.pop("request", None)
    body["retcode_name"] = retcode_name(body["retcode"])
    body["description"] = describe_retcode(body["retcode"])
    return body


def _synthetic_result(retcode: int, **fields: Any) -> dict[str, Any]:
    return {
        "retcode": retcode,
        "retcode_name": retcode_name(retcode),
        "description": describe_retcode(retcode),
        **fields,
    }


class TradingService:
    """Validated, journaled trading over the pool's terminals."""

    def __init__(self, *, sessions: AccountSessions, journal: Journal) -> None:
        self.sessions = sessions
        self.journal = journal
        # Requests running in this process, by (owner, key): a repeat waits for the first. A
        # restart's settling runs here too and gives None when it found nothing to answer with.
        self._inflight: dict[tuple[str, str], asyncio.Future[TradeOutcome | None]] = {}
        self._reconcilers: dict[str, Reconcile] = {
            "place": self._find_tagged,
            "close_position": self._find_tagged,
            "modify_order": self._modified_order,
            "cancel_order": self._cancelled_order,
            "modify_position": self._modified_position,
            "close_symbol": self._closed_symbol,
        }
        self._settling: asyncio.Task[int] | None = None
        self.sends = 0
        self.repriced_sends = 0
        self.reconciled = 0

    # -- after a restart --

    def start(self, *, retry_s: float = 1.0, patience_s: float = 600.0) -> None:
        """Settle, in the background, the journal entries that have no answer (call before serving)."""
        entries = self.journal.unfinished()
        if entries:
            self._settling = asyncio.create_task(
                self.settle_unfinished(entries, retry_s=retry_s, patience_s=patience_s),
                name="trade-journal-settle",
            )

    async def stop(self) -> None:
        """Stop settling (what is left is settled by the next start, or by repeats of the keys)."""
        if self._settling is not None:
            self._settling.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._settling
            self._settling = None

    async def settle_unfinished(
        self, entries: list[JournalEntry], *, retry_s: float = 1.0, patience_s: float = 600.0
    ) -> int:
        """Forget ``entries`` never sent; look up each one sent and never answered on its terminal,
        storing the answer when found. A terminal that is not up yet is asked again every
        ``retry_s`` for up to ``patience_s``. Returns how many answers were stored."""
        deadline = time.monotonic() + patience_s
        stored = 0
        while entries:
            later: list[JournalEntry] = []
            for stale in entries:
                entry = self.journal.get(stale.owner, stale.key)
                if entry is None or entry.finished or (entry.owner, entry.key) in self._inflight:
                    continue  # answered, or being answered, by a repeat of its key meanwhile
                if not entry.outcome_unknown:
                    self.journal.forget(entry.owner, entry.key)
                    continue
                try:
                    stored += await self._settle(entry)
                except GatewayError as exc:
                    log.info(
                        "journal: %s %s waits for %s (%s)", entry.operation, entry.key, entry.terminal_id, exc
                    )
                    later.append(entry)
            if not later or time.monotonic() > deadline:
                for entry in later:
                    log.warning(
                        "journal: gave up settling %s %s: %s is not available",
                        entry.operation,
                        entry.key,
                        entry.terminal_id,
                    )
                break
            entries = later
            await asyncio.sleep(retry_s)
        return stored

    async def _settle(self, entry: JournalEntry) -> bool:
        """Look one unanswered entry up on its terminal; True when its answer was found and stored."""
        flight = (entry.owner, entry.key)
        future: asyncio.Future[TradeOutcome | None] = asyncio.get_running_loop().create_future()
        self._inflight[flight] = future
        outcome: TradeOutcome | None = None
        try:
            async with self.sessions.session(entry.terminal_id, entry.login) as session:
                found = await self._reconcilers[entry.operation](session, entry)
                metadata = {"idempotency_key": entry.key, "replayed": False} | session.metadata()
            if found is not None:
                outcome = self._reconciled(entry, found, metadata)
                log.info(
                    "journal: %s %s was executed before the restart: answer stored",
                    entry.operation,
                    entry.key,
                )
            else:
                log.warning(
                    "journal: %s %s has no trace on %s: a repeat of the key checks again before sending",
                    entry.operation,
                    entry.key,
                    entry.terminal_id,
                )
            return outcome is not None
        finally:
            # A repeat waiting on this gets the answer, or goes on by itself (None).
            future.set_result(outcome)
            del self._inflight[flight]

    def _reconciled(
        self, entry: JournalEntry, found: dict[str, Any], metadata: dict[str, Any]
    ) -> TradeOutcome:
        """The answer for an entry whose lost send the terminal shows, stored in the journal."""
        self.reconciled += 1
        outcome = TradeOutcome(200, {"success": True, "result": found}).with_metadata(
            **(metadata | {"reconciled": True, "attempts": entry.attempts})
        )
        self.journal.finish(entry.owner, entry.key, outcome.status, outcome.body)
        return outcome

    # -- shared steps --

    async def _symbol(self, session: Session, symbol: str) -> SymbolInfo:
        info: SymbolInfo | None = await session.call_raw("symbol_info", symbol)
        if info is None:
            raise SymbolNotFound(f"Symbol {symbol} not found on {session.terminal_id}", symbol=symbol)
        return info

    async def _terminal(self, *, login: int | None, symbol: str | None) -> str:
        if login is None and symbol is None:
            raise BadRequest("login or symbol is needed to find the ticket's terminal", field="login")
        return await self.sessions.route(login=login, symbol=symbol)

    async def _journaled(
        self,
        *,
        owner: str,
        key: str,
        operation: str,
        target: str,
        body: dict[str, Any],
        terminal_id: str,
        login: int | None,
        prepare: Prepare,
    ) -> TradeOutcome:
        flight = (owner, key)
        while True:
            entry, _ = self.journal.begin(
                owner=owner,
                key=key,
                fingerprint=fingerprint(operation, target, body),
                operation=operation,
                request={"target": target, "body": body},
                terminal_id=terminal_id,
                # Resolved now, so a reconcile after a restart asks the account the request went to.
                login=login if login is not None else self.sessions.default_logins.get(terminal_id),
            )
            if entry.finished:
                assert entry.status is not None and entry.response is not None
                return TradeOutcome(entry.status, entry.response).with_metadata(replayed=True)
            running = self._inflight.get(flight)
            if running is None:
                break
            answered = await asyncio.shield(running)
            if answered is not None:
                return answered.with_metadata(replayed=True)
            # Settling after a restart found no trace of the first send: this request goes on.
        future: asyncio.Future[TradeOutcome | None] = asyncio.get_running_loop().create_future()
        # Waiters read the exception; without one nobody might, and asyncio would log it.
        future.add_done_callback(lambda f: f.cancelled() or f.exception())
        self._inflight[flight] = future
        try:
            outcome = await self._run(entry, prepare)
        except BaseException as exc:
            future.set_exception(exc)
            raise
        else:
            future.set_result(outcome)
            return outcome
        finally:
            del self._inflight[flight]

    async def _run(self, entry: JournalEntry, prepare: Prepare) -> TradeOutcome:
        metadata = {"idempotency_key": entry.key, "replayed": False, "reconciled": False}
        sending = False
        try:
            async with self.sessions.session(entry.terminal_id, entry.login) as session:
                metadata |= session.metadata()
                if entry.outcome_unknown:
                    found = await self._reconcilers[entry.operation](session, entry)
                    if found is not None:
                        return self._reconciled(entry, found, metadata)
                prepared = await prepare(session, entry)
                attempts = self.journal.mark_sending(entry.owner, entry.key)
                sending = True
                return await self._send(session, entry, prepared, metadata | {"attempts": attempts})
        except GatewayError as exc:
            if sending or entry.outcome_unknown:
                raise self._unknown_outcome(exc, entry) from exc
            # Refused or failed before anything was sent: the key is free to use again.
            self.journal.forget(entry.owner, entry.key)
            if isinstance(exc, TerminalUnavailable):
                raise _with_outcome(exc, OUTCOME_NOT_EXECUTED, _NOT_EXECUTED) from exc
            raise

    def _unknown_outcome(self, exc: GatewayError, entry: JournalEntry) -> GatewayError:
        """``exc`` for a request that may have been executed: says so, and when its terminal is
        scheduled back (its ``retry_after``) when it went down."""
        error = _with_outcome(exc, OUTCOME_UNKNOWN, _UNKNOWN.format(key=entry.key))
        scheduled = self.sessions.pool.retry_after(entry.terminal_id)
        if scheduled is not None and error.status == 503:
            error.extra["retry_after"] = scheduled
        return error

    async def _send(
        self, session: Session, entry: JournalEntry, prepared: _Prepared, metadata: dict[str, Any]
    ) -> TradeOutcome:
        """Send (the attempt is already committed) and store the answer; a lost answer stays unknown."""
        self.sends += 1
        started = time.perf_counter()
        request = prepared.request
        result = await session.call_raw("order_send", request)
        for _ in range(REPRICE_ATTEMPTS):
            if not _needs_reprice(request, result):
                break
            tick = await session.call_raw("symbol_info_tick", request["symbol"])
            if tick is None:
                break
            # The same request (and comment tag) at the new market price.
            request = request | {"price": tick.ask if request["type"] in _BUY_ORDER_TYPES else tick.bid}
            self.repriced_sends += 1
            result = await session.call_raw("order_send", request)
        metadata["send_ms"] = round((time.perf_counter() - started) * 1000, 3)
        prepared = _Prepared(request, prepared.extra)
        outcome = (await self._answer(session, result, prepared)).with_metadata(**metadata)
        self.journal.finish(entry.owner, entry.key, outcome.status, outcome.body)
        return outcome

    async def _answer(self, session: Session, result: Any, prepared: _Prepared) -> TradeOutcome:
        if result is None:
            code, message = await session.call_raw("last_error")
            error = TerminalError(
                f"order_send failed on {session.terminal_id}: {message}",
                terminal_id=session.terminal_id,
                last_error={"code": code, "message": message},
            )
            return TradeOutcome(error.status, error.body())
        body = _result_body(result)
        if result.retcode in SUCCESS_RETCODES:
            return TradeOutcome(200, {"success": True, "result": body, "request": prepared.request})
        rejection = OrderRejected(
            f"{body['retcode_name']}: {body['description']}"
            + (f" ({result.comment})" if result.comment else ""),
            retcode=result.retcode,
            retcode_name=body["retcode_name"],
            result=body,
            request=prepared.request,
        )
        return TradeOutcome(rejection.status, rejection.body())

    async def _find_tagged(self, session: Session, entry: JournalEntry) -> dict[str, Any] | None:
        """The order (and its deals) whose comment carries the entry's tag, as a send result."""
        mark = f"#{entry.tag}"
        for order in await session.call_raw("orders_get") or ():
            if mark in order.comment:
                return _synthetic_result(
                    c.TRADE_RETCODE_PLACED,
                    order=order.ticket,
                    volume=order.volume_initial,
                    price=order.price_open,
                )
        until = datetime.now(UTC) + _HISTORY_AHEAD
        for order in await session.call_raw("history_orders_get", _HISTORY_FROM, until) or ():
            if mark not in order.comment:
                continue
            deals = [
                d
                for d in await session.call_raw("history_deals_get", _HISTORY_FROM, until) or ()
                if d.order == order.ticket
            ]
            if not deals:
                return _synthetic_result(
                    c.TRADE_RETCODE_PLACED,
                    order=order.ticket,
                    volume=order.volume_initial,
                    price=order.price_open,
                )
            return _synthetic_result(
                c.TRADE_RETCODE_DONE,
                order=order.ticket,
                deal=deals[0].ticket,
                volume=sum(d.volume for d in deals),
                price=deals[0].price,
            )
        return None

    # -- new orders --

    def _order_request(self, order: OrderRequest, info: SymbolInfo, tag: str) -> dict[str, Any]:
        request: dict[str, Any] = {
            "action": c.TRADE_ACTION_DEAL if order.type == "market" else c.TRADE_ACTION_PENDING,
            "symbol": info.name,
            "volume": order.volume,
            "type": _ORDER_TYPES[(order.side, order.type)],
            "deviation": order.deviation,
            "magic": order.magic,
            "comment": _tag_comment(tag, order.comment),
            "type_filling": FILLING_MODES[order.filling or default_filling(info)],
            "type_time": c.ORDER_TIME_GTC,
        }
        digits = int(info.digits)
        if order.type == "market":
            request["price"] = info.ask if order.side == "buy" else info.bid
        else:
            assert order.price is not None  # validated
            request["price"] = round(order.price, digits)
        if order.stoplimit is not None:
            request["stoplimit"] = round(order.stoplimit, digits)
        if order.sl:
            request["sl"] = round(order.sl, digits)
        if order.tp:
            request["tp"] = round(order.tp, digits)
        if order.expiration is not None:
            request["type_time"] = c.ORDER_TIME_SPECIFIED
            expiration = order.expiration if order.expiration.tzinfo else order.expiration.replace(tzinfo=UTC)
            request["expiration"] = int(expiration.timestamp())
        return request

    async def _validated(
        self, session: Session, order: OrderRequest, tag: str, expected_price: float | None = None
    ) -> dict[str, Any]:
        info = await self._symbol(session, order.symbol)
        check_new_order(order, info, info)
        if expected_price is not None:
            check_expected_price(info, order.side, expected_price, order.deviation)
        return self._order_request(order, info, tag)

    async def place(
        self, *, owner: str, key: str, order: OrderRequest, expected_price: float | None = None
    ) -> TradeOutcome:
        """Validate and send a new order, at most once per idempotency key.

        ``expected_price`` (a market order's price as the client saw it, as the MT5 Bridge
        Microservice's clients send it) refuses the order when the market has moved more than its
        ``deviation`` away, as the trade server would requote it.
        """

        async def prepare(session: Session, entry: JournalEntry) -> _Prepared:
            return _Prepared(await self._validated(session, order, entry.tag, expected_price))

        body = order.model_dump(mode="json")
        if expected_price is not None:
            body["expected_price"] = expected_price
        return await self._journaled(
            owner=owner,
            key=key,
            operation="place",
            target="orders",
            body=body,
            terminal_id=await self.sessions.route(login=order.login, symbol=order.symbol),
            login=order.login,
            prepare=prepare,
        )

    async def check(self, order: OrderRequest) -> dict[str, Any]:
        """Validate an order and ask the terminal's ``order_check`` about it (nothing is sent)."""
        terminal_id = await self.sessions.route(login=order.login, symbol=order.symbol)
        async with self.sessions.session(terminal_id, order.login) as session:
            request = await self._validated(session, order, tag="CHECK")
            result = await session.call("order_check", request)
            body = _result_body(result)
            return {"success": True, "result": body, "request": request, "metadata": session.metadata()}

    # -- pending orders --

    async def _pending(self, session: Session, ticket: int) -> Any:
        found = await session.call_raw("orders_get", ticket=ticket)
        if not found:
            raise NotFound(f"pending order {ticket} not found on {session.terminal_id}", ticket=ticket)
        return found[0]

    async def modify_order(
        self, *, owner: str, key: str, ticket: int, change: OrderModify, symbol: str | None = None
    ) -> TradeOutcome:
        """Change a pending order's price, stop-limit price, SL, TP or expiration."""
        body = change.model_dump(mode="json")

        async def prepare(session: Session, entry: JournalEntry) -> _Prepared:
            order = await self._pending(session, ticket)
            info = await self._symbol(session, order.symbol)
            side: Side = "buy" if order.type in _BUY_ORDER_TYPES else "sell"
            price = change.price if change.price is not None else order.price_open
            stoplimit = change.stoplimit if change.stoplimit is not None else order.price_stoplimit
            sl = change.sl if change.sl is not None else order.sl
            tp = change.tp if change.tp is not None else order.tp
            reference = stoplimit if stoplimit else price
            check_stops(info, side, reference, sl, tp)
            digits = int(info.digits)
            request: dict[str, Any] = {
                "action": c.TRADE_ACTION_MODIFY,
                "order": ticket,
                "symbol": order.symbol,
                "price": round(price, digits),
                "stoplimit": round(stoplimit, digits),
                "sl": round(sl, digits),
                "tp": round(tp, digits),
                "type_time": order.type_time,
                "expiration": order.time_expiration,
            }
            if change.expiration is not None:
                expiration = (
                    change.expiration if change.expiration.tzinfo else change.expiration.replace(tzinfo=UTC)
                )
                request["type_time"] = c.ORDER_TIME_SPECIFIED
                request["expiration"] = int(expiration.timestamp())
            return _Prepared(request)

        return await self._journaled(
            owner=owner,
            key=key,
            operation="modify_order",
            target=f"orders/{ticket}",
            body=body,
            terminal_id=await self._terminal(login=change.login, symbol=symbol),
            login=change.login,
            prepare=prepare,
        )

    async def _modified_order(self, session: Session, entry: JournalEntry) -> dict[str, Any] | None:
        """A lost modification: applied when the pending order now has the values it asked for."""
        ticket = _ticket(entry)
        found = await session.call_raw("orders_get", ticket=ticket)
        if not found:
            return None
        asked = entry.request["body"]
        wanted = {"price_open": "price", "price_stoplimit": "stoplimit", "sl": "sl", "tp": "tp"}
        applied = _has_values(found[0], {field: asked.get(name) for field, name in wanted.items()})
        return _synthetic_result(c.TRADE_RETCODE_DONE, order=ticket) if applied else None

    async def cancel_order(
        self, *, owner: str, key: str, ticket: int, login: int | None = None, symbol: str | None = None
    ) -> TradeOutcome:
        """Delete a pending order."""

        async def prepare(session: Session, entry: JournalEntry) -> _Prepared:
            order = await self._pending(session, ticket)
            return _Prepared({"action": c.TRADE_ACTION_REMOVE, "order": ticket, "symbol": order.symbol})

        return await self._journaled(
            owner=owner,
            key=key,
            operation="cancel_order",
            target=f"orders/{ticket}",
            body={"login": login, "symbol": symbol},
            terminal_id=await self._terminal(login=login, symbol=symbol),
            login=login,
            prepare=prepare,
        )

    async def _cancelled_order(self, session: Session, entry: JournalEntry) -> dict[str, Any] | None:
        """A lost cancellation: done when the order is gone from the book and cancelled in history."""
        ticket = _ticket(entry)
        if await session.call_raw("orders_get", ticket=ticket):
            return None
        history = await session.call_raw("history_orders_get", ticket=ticket) or ()
        cancelled = any(o.state == c.ORDER_STATE_CANCELED for o in history)
        return _synthetic_result(c.TRADE_RETCODE_DONE, order=ticket) if cancelled else None

    # -- positions --

    async def _position(self, session: Session, ticket: int) -> Any:
        found = await session.call_raw("positions_get", ticket=ticket)
        if not found:
            raise NotFound(f"position {ticket} not found on {session.terminal_id}", ticket=ticket)
        return found[0]

    async def _position_and_symbol(
        self, session: Session, ticket: int, symbol: str | None
    ) -> tuple[Any, SymbolInfo]:
        """The position and its symbol. When the request named the symbol (nearly always the
        position's), both are asked at once: one round trip to the terminal instead of two."""
        if symbol is None:
            position = await self._position(session, ticket)
            return position, await self._symbol(session, position.symbol)
        position, info = await asyncio.gather(
            self._position(session, ticket), session.call_raw("symbol_info", symbol)
        )
        if info is None or info.name != position.symbol:
            info = await self._symbol(session, position.symbol)
        return position, info

    async def modify_position(
        self, *, owner: str, key: str, ticket: int, change: PositionModify, symbol: str | None = None
    ) -> TradeOutcome:
        """Set a position's SL and TP."""

        async def prepare(session: Session, entry: JournalEntry) -> _Prepared:
            position = await self._position(session, ticket)
            info = await self._symbol(session, position.symbol)
            side: Side = "buy" if position.type == c.POSITION_TYPE_BUY else "sell"
            sl = change.sl if change.sl is not None else position.sl
            tp = change.tp if change.tp is not None else position.tp
            check_stops(info, side, info.bid if side == "buy" else info.ask, sl, tp)
            digits = int(info.digits)
            return _Prepared(
                {
                    "action": c.TRADE_ACTION_SLTP,
                    "position": ticket,
                    "symbol": position.symbol,
                    "sl": round(sl, digits),
                    "tp": round(tp, digits),
                }
            )

        return await self._journaled(
            owner=owner,
            key=key,
            operation="modify_position",
            target=f"positions/{ticket}",
            body=change.model_dump(mode="json"),
            terminal_id=await self._terminal(login=change.login, symbol=symbol),
            login=change.login,
            prepare=prepare,
        )

    async def _modified_position(self, session: Session, entry: JournalEntry) -> dict[str, Any] | None:
        """A lost SL/TP change: applied when the position now has the values it asked for."""
        ticket = _ticket(entry)
        found = await session.call_raw("positions_get", ticket=ticket)
        if not found:
            return None
        asked = entry.request["body"]
        applied = _has_values(found[0], {"sl": asked.get("sl"), "tp": asked.get("tp")})
        return _synthetic_result(c.TRADE_RETCODE_DONE, position=ticket) if applied else None

    async def close_position(
        self,
        *,
        owner: str,
        key: str,
        ticket: int,
        volume: float | None = None,
        login: int | None = None,
        symbol: str | None = None,
        deviation: int = 20,
    ) -> TradeOutcome:
        """Close a position, or part of it (``volume``), with an opposite market deal."""

        async def prepare(session: Session, entry: JournalEntry) -> _Prepared:
            position, info = await self._position_and_symbol(session, ticket, symbol)
            side: Side = _opposite("buy" if position.type == c.POSITION_TYPE_BUY else "sell")
            check_tradeable(info, side, opening=False)
            amount = position.volume if volume is None else volume
            check_close_volume(info, position.volume, amount)
            return _Prepared(
                {
                    "action": c.TRADE_ACTION_DEAL,
                    "position": ticket,
                    "symbol": position.symbol,
                    "volume": amount,
                    "type": _ORDER_TYPES[(side, "market")],
                    "price": info.ask if side == "buy" else info.bid,
                    "deviation": deviation,
                    "magic": position.magic,
                    "comment": _tag_comment(entry.tag, "close"),
                    "type_filling": FILLING_MODES[default_filling(info)],
                }
            )

        return await self._journaled(
            owner=owner,
            key=key,
            operation="close_position",
            target=f"positions/{ticket}",
            body={"volume": volume, "login": login, "symbol": symbol, "deviation": deviation},
            terminal_id=await self._terminal(login=login, symbol=symbol),
            login=login,
            prepare=prepare,
        )

    # -- every position of a symbol --

    async def close_symbol(
        self, *, owner: str, key: str, symbol: str, login: int | None = None
    ) -> TradeOutcome:
        """Close every open position of ``symbol`` on the account, at most once per idempotency key.

        The positions to close are listed once and written in the journal entry of ``key`` before
        any is closed; each close is then journaled under its own key (``key#ticket``), so a repeat
        (also after a crash) closes exactly those positions, never one opened since.
        """
        target = f"symbols/{symbol}"
        known = self.journal.get(owner, key)
        if known is None:
            terminal_id = await self.sessions.route(login=login, symbol=symbol)
            async with self.sessions.session(terminal_id, login) as session:
                positions = await session.call("positions_get", symbol=symbol)
            tickets = sorted(int(position.ticket) for position in positions)
            request: dict[str, Any] = {"target": target, "body": {"login": login}, "tickets": tickets}
        else:
            terminal_id, request = known.terminal_id, known.request
        # A new entry, the one already there, or Conflict for a key used by another request.
        entry, created = self.journal.begin(
            owner=owner,
            key=key,
            fingerprint=fingerprint("close_symbol", target, {"login": login}),
            operation="close_symbol",
            request=request,
            terminal_id=terminal_id,
            login=login if login is not None else self.sessions.default_logins.get(terminal_id),
        )
        if created:
            # Sent from now on: after a crash the entry is settled from its closes, never forgotten.
            self.journal.mark_sending(owner, key)
        if entry.finished:
            assert entry.status is not None and entry.response is not None
            return TradeOutcome(entry.status, entry.response).with_metadata(replayed=True)
        closes = [
            await self._close_part(owner, key, ticket, login, symbol) for ticket in entry.request["tickets"]
        ]
        body = {
            "success": all(part["success"] for part in closes),
            "symbol": symbol,
            "closed": sum(1 for part in closes if part["success"]),
            "positions": closes,
            "metadata": {"idempotency_key": key, "replayed": False, "terminal_id": entry.terminal_id},
        }
        self.journal.finish(owner, key, 200, body)
        return TradeOutcome(200, body)

    async def _close_part(
        self, owner: str, key: str, ticket: int, login: int | None, symbol: str
    ) -> dict[str, Any]:
        """One position's close within ``close_symbol``: its answer, or the error that stopped it."""
        try:
            outcome = await self.close_position(
                owner=owner, key=_part_key(key, ticket), ticket=ticket, login=login, symbol=symbol
            )
        except GatewayError as exc:
            return {"ticket": ticket, "status": exc.status, **exc.body()}
        return {"ticket": ticket, "status": outcome.status, **outcome.body}

    async def _closed_symbol(self, session: Session, entry: JournalEntry) -> dict[str, Any] | None:
        """A ``close_symbol`` a restart cut off: settled when each of its closes has an answer."""
        parts = [self.journal.get(entry.owner, _part_key(entry.key, t)) for t in entry.request["tickets"]]
        if any(part is None or not part.finished for part in parts):
            return None
        return {
            "closed": [
                {"ticket": ticket, "status": part.status, **(part.response or {})}
                for ticket, part in zip(entry.request["tickets"], parts, strict=True)
                if part is not None
            ]
        }


def _part_key(key: str, ticket: int) -> str:
    """The key of one position's close within a ``close_symbol`` request."""
    return f"{key}#{ticket}"


def _ticket(entry: JournalEntry) -> int:
    """The order or position ticket a journaled change was for (its target is ``kind/ticket``)."""
    return int(entry.request["target"].rpartition("/")[2])


def _has_values(record: Any, wanted: dict[str, float | None]) -> bool:
    """Each value asked for (None: not asked) is the record's."""
    return all(value is None or abs(getattr(record, name) - value) < 1e-9 for name, value in wanted.items())


def _needs_reprice(request: dict[str, Any], result: Any) -> bool:
    """A market deal the server refused only for its price (a requote), so safe to send again."""
    return (
        result is not None
        and result.retcode in REPRICE_RETCODES
        and request.get("action") == c.TRADE_ACTION_DEAL
    )
