"""The sync worker: cycles (health -> account list -> live info -> upsert), the schedule, alerts.

One cycle asks every source in parallel. A source whose health check still fails after its
retries is skipped for this cycle; within a source, accounts are fetched concurrently (bounded by
the source) and one account failing never stops the others. Each cycle is written to the run log.
``run_cycle`` never overlaps: a trigger while a cycle runs waits for that cycle and returns it.

Alerts: an ERROR log line, and an entry in ``issues()`` (the admin health's ``issues``), when a
gateway has been down ``gateway_down_alert_cycles`` cycles in a row or an account has failed
``account_failed_alert_cycles`` cycles in a row.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any, Protocol

import humanize
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger

from .freshness import Clock, Freshness, age_of, freshness_level, system_clock
from .mirror import AccountFailure, AccountSnapshot, Mirror, RunRecord
from .settings import SyncSettings
from .source import AccountFetchError, GatewayHealth, GatewaySource, GatewayUnreachable, ListedAccount

__all__ = ["AccountSource", "SourceState", "SyncWorker"]

log = logging.getLogger(__name__)


class AccountSource(Protocol):
    """What a cycle needs of a source (``GatewaySource`` over HTTP)."""

    name: str
    url: str

    async def health(self) -> GatewayHealth: ...

    async def list_accounts(self) -> list[ListedAccount]: ...

    async def fetch(self, account: ListedAccount) -> AccountSnapshot: ...

    async def aclose(self) -> None: ...


@dataclass
class SourceState:
    """What the worker remembers of a source between cycles."""

    name: str
    url: str
    down_cycles: int = 0
    last_health: GatewayHealth | None = None
    last_error: str | None = None


@dataclass
class _SourceOutcome:
    reachable: bool
    snapshots: list[AccountSnapshot] = field(default_factory=list)
    failures: list[AccountFailure] = field(default_factory=list)
    error: str | None = None


def _one_per_login(outcomes: Sequence[_SourceOutcome]) -> tuple[list[AccountSnapshot], list[AccountFailure]]:
    """Snapshots and failures with each login once (one upsert may not touch a row twice).

    A login two gateways serve keeps a LIVE answer over a STORED one (the later source on a tie);
    it failed only when no source answered for it.
    """
    snapshots: dict[int, AccountSnapshot] = {}
    for snapshot in (s for outcome in outcomes for s in outcome.snapshots):
        kept = snapshots.get(snapshot.login)
        if kept is None or snapshot.data_source == "LIVE" or kept.data_source == "STORED":
            snapshots[snapshot.login] = snapshot
    failures = {f.login: f for outcome in outcomes for f in outcome.failures if f.login not in snapshots}
    return list(snapshots.values()), list(failures.values())


class SyncWorker:
    """Copies accounts from its sources into the mirror, on a schedule or on demand."""

    def __init__(
        self,
        settings: SyncSettings,
        mirror: Mirror,
        *,
        sources: Sequence[AccountSource] | None = None,
        clock: Clock = system_clock,
    ) -> None:
        self.settings = settings
        self.mirror = mirror
        self.clock = clock
        self.sources: list[AccountSource] = (
            list(sources)
            if sources is not None
            else [GatewaySource.from_settings(config, settings) for config in settings.sources]
        )
        self.states = {source.name: SourceState(source.name, source.url) for source in self.sources}
        self._running: asyncio.Task[RunRecord] | None = None
        self._scheduler: AsyncIOScheduler | None = None
        mirror.apply_account_meta(settings.accounts)

    # -- cycles --

    async def run_cycle(self, trigger: str = "manual") -> RunRecord:
        """Run one cycle now, or wait for the one already running and return it (never two at once)."""
        if self._running is None or self._running.done():
            self._running = asyncio.create_task(self._cycle(trigger))
        return await asyncio.shield(self._running)

    async def _cycle(self, trigger: str) -> RunRecord:
        started, started_perf = self.clock(), time.perf_counter()
        outcomes = await asyncio.gather(*(self._sync_source(source) for source in self.sources))
        snapshots, failures = _one_per_login(outcomes)
        errors = [outcome.error for outcome in outcomes if outcome.error]
        errors += [f"account {f.login} ({f.source}): {f.error}" for f in failures]
        synced_at = self.clock()
        await asyncio.to_thread(self.mirror.store_snapshots, snapshots, synced_at)
        failure_counts = await asyncio.to_thread(self.mirror.store_failures, failures, synced_at)
        self._alert_accounts(failures, failure_counts)
        down = sum(not outcome.reachable for outcome in outcomes)
        if self.sources and down == len(self.sources):
            status = "skipped"
        elif down or failures:
            status = "partial"
        else:
            status = "success"
        run = RunRecord(
            trigger=trigger,
            started_at=started,
            finished_at=self.clock(),
            # measured on the monotonic clock: the injectable one may be a test's manual clock
            duration_seconds=time.perf_counter() - started_perf,
            status=status,
            accounts_total=len(snapshots) + len(failures),
            accounts_ok=len(snapshots),
            accounts_failed=len(failures),
            gateways_down=down,
            errors=errors,
        )
        await asyncio.to_thread(self.mirror.record_run, run)
        level = logging.WARNING if status != "success" else logging.INFO
        log.log(
            level,
            "sync cycle %s: %d/%d accounts, %d gateway(s) down, %.3f s",
            status,
            run.accounts_ok,
            run.accounts_total,
            down,
            run.duration_seconds,
        )
        return run

    async def _sync_source(self, source: AccountSource) -> _SourceOutcome:
        state = self.states[source.name]
        health = await source.health()
        state.last_health = health
        try:
            if not health.reachable:
                raise GatewayUnreachable(health.error or f"{source.name}: unreachable")
            accounts = await source.list_accounts()
        except GatewayUnreachable as exc:
            state.down_cycles += 1
            state.last_error = str(exc)
            message = (
                f"gateway {source.name} ({source.url}) unreachable after {health.attempts} attempt(s): {exc}"
            )
            if state.down_cycles >= self.settings.gateway_down_alert_cycles:
                log.error(
                    "ALERT gateway %s down for %d consecutive cycles: %s", source.name, state.down_cycles, exc
                )
            else:
                log.warning("%s; its accounts are skipped this cycle", message)
            return _SourceOutcome(reachable=False, error=message)
        state.down_cycles = 0
        state.last_error = None
        results = await asyncio.gather(
            *(source.fetch(account) for account in accounts), return_exceptions=True
        )
        outcome = _SourceOutcome(reachable=True)
        for account, result in zip(accounts, results, strict=True):
            if isinstance(result, AccountSnapshot):
                outcome.snapshots.append(result)
            elif isinstance(result, Exception):
                # Whatever went wrong with one account (an error answer, a malformed body) is its own.
                reason = (
                    str(result)
                    if isinstance(result, AccountFetchError)
                    else f"{type(result).__name__}: {result}"
                )
                outcome.failures.append(
                    AccountFailure(account.login, account.terminal_id, account.server, source.name, reason)
                )
            else:
                raise result  # cancellation: stop the cycle
        return outcome

    def _alert_accounts(self, failures: list[AccountFailure], counts: dict[int, int]) -> None:
        threshold = self.settings.account_failed_alert_cycles
        for failure in failures:
            in_a_row = counts.get(failure.login, 0)
            if in_a_row >= threshold:
                log.error(
                    "ALERT account %d failed %d cycles in a row: %s", failure.login, in_a_row, failure.error
                )
            else:
                log.warning("account %d (%s) not synced: %s", failure.login, failure.source, failure.error)

    # -- views --

    def view(self, row: dict[str, Any]) -> dict[str, Any]:
        """A mirror row with its age (seconds) and freshness level, times as ISO-8601."""
        age = age_of(row["synced_at"], self.clock())
        return {
            **{
                key: value.isoformat() if hasattr(value, "isoformat") else value for key, value in row.items()
            },
            "age_seconds": None if age is None else age.total_seconds(),
            "freshness": freshness_level(age, self.settings.freshness).value,
        }

    def stored_copy(self, login: int) -> dict[str, Any] | None:
        """The mirror's copy of ``login`` as the bridge's ``stored_data`` (None when it has none)."""
        row = self.mirror.account(login)
        return None if row is None or row["synced_at"] is None else self.view(row)

    def issues(self) -> list[dict[str, Any]]:
        """The alerts in force: gateways down and accounts failing too many cycles in a row."""
        issues: list[dict[str, Any]] = [
            {
                "kind": "gateway_down",
                "source": state.name,
                "cycles": state.down_cycles,
                "message": f"gateway {state.name} ({state.url}) down for {state.down_cycles} consecutive cycles: "
                f"{state.last_error}",
            }
            for state in self.states.values()
            if state.down_cycles >= self.settings.gateway_down_alert_cycles
        ]
        issues += [
            {
                "kind": "account_failing",
                "login": row["login"],
                "cycles": row["consecutive_failures"],
                "message": f"account {row['login']} failed {row['consecutive_failures']} cycles in a row: "
                f"{row['last_error']}",
            }
            for row in self.mirror.failing_accounts(self.settings.account_failed_alert_cycles)
        ]
        return issues

    def health(self) -> dict[str, Any]:
        """The admin health body: gateways, the mirror's oldest copy, the last cycle, the issues."""
        rows = [row for row in self.mirror.accounts() if row["last_attempt_at"] is not None]
        now = self.clock()
        synced = [row["synced_at"] for row in rows if row["synced_at"] is not None]
        oldest = min(synced) if synced else None
        oldest_age = age_of(oldest, now)
        # An account a gateway listed but never answered for is as stale as it gets.
        never_synced = len(synced) < len(rows) or not rows
        staleness = freshness_level(None if never_synced else oldest_age, self.settings.freshness)
        gateways = [self._gateway_view(state) for state in self.states.values()]
        runs = self.mirror.runs(1)
        last = runs[0] if runs else None
        issues = self.issues()
        reachable = bool(gateways) and all(g["reachable"] for g in gateways)
        if issues or staleness is Freshness.CRITICAL or not reachable:
            status = "critical" if staleness is Freshness.CRITICAL or not gateways else "degraded"
        else:
            status = "healthy" if staleness in (Freshness.FRESH, Freshness.ACCEPTABLE) else "degraded"
        times = [g["response_time"] for g in gateways if g["response_time"] is not None]
        return {
            "status": status,
            "vps_api": {
                "reachable": reachable,
                "response_time": max(times) if times else None,
                "status": "healthy" if reachable else "unreachable",
                "gateways": gateways,
            },
            "data_freshness": {
                # The design's phrase ("2 minutes ago"), then the same as a time and an age.
                "oldest_update": "never" if oldest_age is None else humanize.naturaltime(oldest_age),
                "oldest_update_at": None if oldest is None else oldest.isoformat(),
                "staleness": staleness.value,
                "age_seconds": None if oldest_age is None else oldest_age.total_seconds(),
                "accounts": len(rows),
                "never_synced": len(rows) - len(synced),
            },
            "last_sync": None
            if last is None
            else {
                "time": last["finished_at"].isoformat(),
                "success": last["status"] == "success",
                "status": last["status"],
                # The design's "7/7", then the two counts.
                "accounts_synced": f"{last['accounts_ok']}/{last['accounts_total']}",
                "accounts_ok": last["accounts_ok"],
                "total_accounts": last["accounts_total"],
                "duration": last["duration_seconds"],
            },
            "issues": issues,
        }

    @staticmethod
    def _gateway_view(state: SourceState) -> dict[str, Any]:
        health = state.last_health
        return {
            "name": state.name,
            "url": state.url,
            "reachable": health is not None and health.reachable and state.down_cycles == 0,
            "response_time": None if health is None else health.response_time,
            "status": "unknown" if health is None else health.status,
            "down_cycles": state.down_cycles,
            "last_error": state.last_error,
        }

    # -- schedule --

    def start(self) -> None:
        """Run cycles on the configured cron minutes (call from the event loop that serves them)."""
        if self._scheduler is not None:
            return
        scheduler = AsyncIOScheduler(timezone=UTC)
        scheduler.add_job(
            self.run_cycle,
            CronTrigger(minute=self.settings.schedule_minute, timezone=UTC),
            kwargs={"trigger": "schedule"},
            id="sync-cycle",
            max_instances=1,
            coalesce=True,
            misfire_grace_time=60,
        )
        scheduler.start()
        self._scheduler = scheduler

    def next_run_time(self) -> str | None:
        """When the schedule runs next (ISO-8601), None when not started."""
        if self._scheduler is None:
            return None
        job = self._scheduler.get_job("sync-cycle")
        return None if job is None or job.next_run_time is None else job.next_run_time.isoformat()

    async def stop(self) -> None:
        """Stop the schedule, let a running cycle finish, close the sources."""
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
            self._scheduler = None
        if self._running is not None and not self._running.done():
            await asyncio.wait([self._running])
        for source in self.sources:
            await source.aclose()
