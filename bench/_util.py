"""Timing helpers shared by the benchmarks: medians over repeats, and a printed table."""

from __future__ import annotations

import socket
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Timing", "free_port", "median_cpu_seconds", "print_table", "time_calls"]


@dataclass(frozen=True)
class Timing:
    """Per-call durations in seconds."""

    samples: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    def percentile(self, q: float) -> float:
        ordered = sorted(self.samples)
        return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]


def time_calls(fn: Callable[[], object], repeat: int, warmup: int = 1) -> Timing:
    """Call ``fn`` ``warmup`` times untimed, then ``repeat`` times timed."""
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return Timing(samples)


def median_cpu_seconds(fn: Callable[[], object], repeat: int) -> float:
    """Median process CPU time per call: unlike wall time, it leaves out waits for a busy machine's cores."""
    fn()
    samples = []
    for _ in range(repeat):
        start = time.process_time()
        fn()
        samples.append(time.process_time() - start)
    return statistics.median(samples)


def print_table(rows: list[tuple[str, str, str, str]]) -> None:
    """Rows of (measure, value, target, verdict) printed as aligned columns."""
    header = ("measure", "value", "target", "ok")
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(4)]
    for row in [header, *rows]:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)))


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
