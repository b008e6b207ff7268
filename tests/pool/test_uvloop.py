"""Worker answers read whole whatever the pipe's mode: under uvloop (non-blocking) and byte by byte."""

from __future__ import annotations

import asyncio
import os
import pickle
import socket
import struct
from multiprocessing.connection import Connection

import numpy as np
import pytest
import uvloop

from mt5gateway.pool.frames import FrameReader
from mt5gateway.terminal import constants as c

from .fixtures import running_pool, small_config

# ~2.4 MB pickled: many times what a socketpair holds, so it arrives over many reads.
LARGE_ANSWER_BARS = 50_000


async def _large_answers(rounds: int) -> tuple[list[int], int, int | None, int | None]:
    async with running_pool(small_config(["EURUSD"])) as pool:
        pid_before = pool.status("T1").pid
        sizes = []
        for _ in range(rounds):
            rates = await pool.call(
                "T1", "copy_rates_from_pos", "EURUSD", c.TIMEFRAME_M1, 0, LARGE_ANSWER_BARS
            )
            sizes.append(len(rates))
        status = pool.status("T1")
        return sizes, status.restarts, pid_before, status.pid


def test_large_answers_under_uvloop_are_read_whole() -> None:
    # uvloop's add_reader makes the worker pipe non-blocking: a whole-message recv failed half-way
    # through such an answer and the worker was killed as dead.
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        sizes, restarts, pid_before, pid_after = runner.run(_large_answers(4))
    assert sizes == [LARGE_ANSWER_BARS] * 4
    assert (restarts, pid_after) == (0, pid_before)


def _pipe() -> tuple[socket.socket, socket.socket]:
    reading, writing = socket.socketpair()
    reading.setblocking(False)
    return reading, writing


def test_partial_frames_wait_for_the_rest_and_bursts_split_into_messages() -> None:
    reading, writing = _pipe()
    with reading, writing:
        reader = FrameReader(reading.fileno())
        assert reader.read_available() == []  # nothing there: EAGAIN is no error
        big = np.arange(30_000, dtype=np.float64)
        framed = bytearray()
        for message in [("result", 1, big, (1, "ok")), ("ticks", "EURUSD"), ("log", 2.5)]:
            payload = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
            framed += struct.pack("!i", len(payload)) + payload
        received: list[object] = []
        # Odd-sized pieces cut the headers and the bodies anywhere.
        for start in range(0, len(framed), 7919):
            writing.sendall(framed[start : start + 7919])
            received += reader.read_available()
        assert len(received) == 3
        first = received[0]
        assert isinstance(first, tuple) and first[:2] == ("result", 1) and first[3] == (1, "ok")
        np.testing.assert_array_equal(first[2], big)
        assert received[1:] == [("ticks", "EURUSD"), ("log", 2.5)]


def test_long_length_header_and_connection_sends_are_understood() -> None:
    reading, writing = _pipe()
    with reading:
        sender = Connection(os.dup(writing.fileno()))
        writing.close()
        payload = pickle.dumps(("ready", {"pid": 7}))
        # Connection's header for frames past 2 GiB: -1, then the length in 8 bytes.
        os.write(sender.fileno(), struct.pack("!i", -1) + struct.pack("!Q", len(payload)) + payload)
        sender.send(("result", 3, None, (1, "done")))
        reader = FrameReader(reading.fileno())
        received: list[object] = []
        while len(received) < 2:
            received += reader.read_available()
        assert received == [("ready", {"pid": 7}), ("result", 3, None, (1, "done"))]
        sender.close()
        with pytest.raises(EOFError):
            while True:
                reader.read_available()
