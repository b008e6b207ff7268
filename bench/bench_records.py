"""Record construction: our record types (also built from one sequence) against plain named tuples.

The baseline is what the records were before they took the one-sequence form: ``namedtuple``'s own
constructor, measured in the same run on the same fields. Rows: building a ``TradePosition`` by
field names and by position, copying one (``TradePosition(p)``), and ``positions_get`` of 200
positions through ``SimTerminal`` with either constructor in place. Targets: a record built within
1.5x of the baseline (the one-sequence form costs a few identity checks, about 0.15 us), and the call
path within 1.1x (records are a small part of a call).
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable
from datetime import UTC, datetime

from bench._util import Timing, print_table, time_calls
from mt5gateway.sim.terminal import ClockSpec, SimConfig, SimTerminal
from mt5gateway.terminal import constants as c
from mt5gateway.terminal.records import TradePosition

ROUNDS = 11
POSITIONS = 200
CLOCK = ClockSpec(manual=True, origin_msc=int(datetime(2024, 1, 10, 12, tzinfo=UTC).timestamp() * 1000))


def _interleaved(
    ours: Callable[[], object], baseline: Callable[[], object], repeat: int
) -> tuple[Timing, Timing]:
    """Medians of ``repeat`` calls, alternating rounds so both see the same machine load."""
    mine: list[float] = []
    theirs: list[float] = []
    for _ in range(ROUNDS):
        mine.append(time_calls(ours, repeat=repeat).median)
        theirs.append(time_calls(baseline, repeat=repeat).median)
    return Timing(mine), Timing(theirs)


def _row(measure: str, ours: Timing, baseline: Timing, target: float) -> tuple[str, str, str, str]:
    ratio = ours.median / baseline.median
    return (
        measure,
        f"{ours.median * 1e6:,.2f} us vs {baseline.median * 1e6:,.2f} us baseline ({ratio:.2f}x)",
        f"<= {target:.1f}x",
        "yes" if ratio <= target else "NO",
    )


def main() -> None:
    plain = namedtuple("TradePosition", TradePosition._fields)  # type: ignore[misc]
    fields = {
        "ticket": 100_001, "time": 1_704_888_000, "time_msc": 1_704_888_000_000, "time_update": 1_704_888_000,
        "time_update_msc": 1_704_888_000_000, "type": 0, "magic": 0, "identifier": 100_001, "reason": 3,
        "volume": 0.1, "price_open": 1.0971, "sl": 0.0, "tp": 0.0, "price_current": 1.0972, "swap": 0.0,
        "profit": 1.0, "symbol": "EURUSD", "comment": "", "external_id": "",
    }  # fmt: skip
    values = tuple(fields.values())
    record = TradePosition(**fields)
    by_name = _interleaved(lambda: TradePosition(**fields), lambda: plain(**fields), 2000)
    by_position = _interleaved(lambda: TradePosition(*values), lambda: plain(*values), 2000)
    # A copy: ours from the record, the baseline's only way, spreading the record into the fields.
    copy = _interleaved(lambda: TradePosition(record), lambda: plain(*record), 2000)

    terminal = SimTerminal(SimConfig(seed=1, clock=CLOCK, db_path=":memory:"))
    assert terminal.initialize(), terminal.last_error()
    for _ in range(POSITIONS):
        done = terminal.order_send(
            {"action": c.TRADE_ACTION_DEAL, "symbol": "EURUSD", "volume": 0.01, "type": c.ORDER_TYPE_BUY}
        )
        assert done is not None and done.retcode == c.TRADE_RETCODE_DONE, done
    ours_new = TradePosition.__new__

    def with_plain_constructor() -> object:
        TradePosition.__new__ = plain.__new__  # type: ignore[method-assign]
        try:
            return terminal.positions_get()
        finally:
            TradePosition.__new__ = ours_new  # type: ignore[method-assign]

    call = _interleaved(terminal.positions_get, with_plain_constructor, 50)
    terminal.close()
    print(f"medians of {ROUNDS} interleaved rounds")
    print_table(
        [
            _row("TradePosition by field names", *by_name, 1.5),
            _row("TradePosition by position", *by_position, 1.5),
            _row("TradePosition(p), a copy", *copy, 1.5),
            _row(f"positions_get, {POSITIONS} positions", *call, 1.1),
        ]
    )


if __name__ == "__main__":
    main()
