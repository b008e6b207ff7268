"""The backend a worker drives: the simulator, the official module, or a remote agent.

``make_backend`` runs inside the worker process and returns an object offering the 32 API
functions (``terminal.api.TerminalAPI``). ``RemoteTerminal`` is the client side of
``mt5gateway agent``: each API call is one request frame and one reply frame (``wire.py``).
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..terminal import constants as c
from ..terminal.api import API_FUNCTIONS
from ..terminal.errors import ERROR_MESSAGES
from .wire import WireError, decode_value, encode_value, recv_frame, send_frame

__all__ = [
    "DEFAULT_SIM_SEED",
    "DEFAULT_SIM_SERVER",
    "BackendSpec",
    "RemoteCallError",
    "RemoteTerminal",
    "make_backend",
]

DEFAULT_SIM_SEED = 42
DEFAULT_SIM_SERVER = "MT5Sim-Demo"

# Functions whose failure value is False rather than None (as in the official module).
_FALSE_ON_FAILURE = frozenset(
    {"initialize", "login", "symbol_select", "market_book_add", "market_book_release"}
)


@dataclass(frozen=True)
class BackendSpec:
    """What a worker needs to build its backend and log in (plain data, pickled to the worker).

    The worker process imports only this module's light dependencies, not the pydantic config.
    """

    terminal_id: str
    backend: str
    symbols: tuple[str, ...] = ()
    path: str | None = None
    address: str | None = None
    login: int | None = None
    server: str | None = None
    password: str | None = field(default=None, repr=False)
    token: str | None = field(default=None, repr=False)
    sim_seed: int = DEFAULT_SIM_SEED
    sim_speed: float = 1.0
    # The sim stood at sim_start_msc at real time sim_anchor_msc (None: the worker's own start).
    sim_start_msc: int | None = None
    sim_anchor_msc: int | None = None
    sim_manual: bool = False
    sim_server_time: str = "broker"
    sim_server: str = DEFAULT_SIM_SERVER
    sim_broker_db: str | None = None

    def sim_now_msc(self) -> int | None:
        """Where the sim clock stands now on the pool's timeline (None: at real now).

        A manual clock stands at the start; a running one has moved ``speed`` times the real time
        since the anchor, so a worker respawned mid-run picks up where the old one was.
        """
        if self.sim_start_msc is None or self.sim_anchor_msc is None:
            return None
        if self.sim_manual:
            return self.sim_start_msc
        elapsed_ms = time.time_ns() // 1_000_000 - self.sim_anchor_msc
        return self.sim_start_msc + int(elapsed_ms * self.sim_speed)

    def initialize_kwargs(self) -> dict[str, Any]:
        """The arguments of this terminal's ``initialize``: its own path, login, password and server.

        Only those configured: the module refuses ``path=None`` (``Invalid "path" argument``).
        """
        kwargs: dict[str, Any] = {}
        if self.path is not None:
            kwargs["path"] = self.path
        if self.login is not None:
            kwargs["login"] = self.login
        if self.password is not None:
            kwargs["password"] = self.password
        if self.server is not None:
            kwargs["server"] = self.server
        return kwargs


def make_backend(spec: BackendSpec, call_timeout: float) -> Any:
    """The backend object ``spec`` describes (imports only what that backend needs)."""
    # Imported here: a worker loads only its own backend (the gateway loads none).
    if spec.backend == "sim":
        from ..sim.terminal import ClockSpec, SimConfig, SimTerminal  # noqa: PLC0415

        return SimTerminal(
            SimConfig(
                server=spec.sim_server,
                seed=spec.sim_seed,
                clock=ClockSpec(speed=spec.sim_speed, origin_msc=spec.sim_now_msc(), manual=spec.sim_manual),
                db_path=spec.sim_broker_db,
                login=spec.login,
                server_time=spec.sim_server_time,
            )
        )
    if spec.backend == "metatrader5":
        from ..terminal.official import load_official_module  # noqa: PLC0415

        return load_official_module()
    if spec.backend == "remote" and spec.address is not None and spec.token is not None:
        return RemoteTerminal(spec.address, spec.token, timeout=call_timeout)
    raise ValueError(f"{spec.terminal_id}: cannot build a {spec.backend!r} backend from {spec}")


class RemoteCallError(RuntimeError):
    """The agent answered a call with an error (bad arguments, or the backend raised)."""


class RemoteTerminal:
    """The 32 API functions served by an ``mt5gateway agent`` over TCP.

    Connects on ``initialize`` (and again after the link broke, replaying that ``initialize`` so a
    restarted agent's terminal is logged in again). A broken link makes a call fail the way the
    module fails when its terminal is gone: ``None`` / ``False`` and last_error -10004.
    ``last_error()`` is answered locally: the agent sends it with every reply.
    """

    def __init__(self, address: str, token: str, *, timeout: float) -> None:
        host, _, port = address.rpartition(":")
        self._endpoint = (host.strip("[]"), int(port))
        self._token = token
        self._timeout = timeout
        self._sock: socket.socket | None = None
        self._initialize_request: tuple[list[Any], dict[str, Any]] | None = None
        self._last_error: tuple[int, str] = (c.RES_S_OK, ERROR_MESSAGES[c.RES_S_OK])
        self._next_id = 0

    def __getattr__(self, name: str) -> Callable[..., Any]:
        if name not in API_FUNCTIONS:
            raise AttributeError(name)

        def call(*args: Any, **kwargs: Any) -> Any:
            return self._call(name, list(args), kwargs)

        return call

    def initialize(self, *args: Any, **kwargs: Any) -> bool:
        """Connect to the agent and initialize its terminal."""
        self._initialize_request = (list(args), kwargs)
        self.close()
        return bool(self._call("initialize", list(args), kwargs))

    def last_error(self) -> tuple[int, str]:
        """The agent's ``last_error()`` after the previous call."""
        return self._last_error

    def close(self) -> None:
        """Drop the connection (the next call reconnects)."""
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def _call(self, name: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
        try:
            sock = self._connected_socket(replay_initialize=name != "initialize")
            return self._exchange(sock, name, args, kwargs)
        except (OSError, WireError) as exc:
            self.close()
            self._last_error = (c.RES_E_INTERNAL_FAIL_CONNECT, f"agent {self._address}: {exc}")
            return False if name in _FALSE_ON_FAILURE else None

    @property
    def _address(self) -> str:
        return f"{self._endpoint[0]}:{self._endpoint[1]}"

    def _connected_socket(self, *, replay_initialize: bool) -> socket.socket:
        if self._sock is not None:
            return self._sock
        sock = socket.create_connection(self._endpoint, timeout=self._timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        send_frame(sock, {"token": self._token})
        answer = recv_frame(sock)
        if not answer.get("ok"):
            sock.close()
            raise WireError(str(answer.get("error", "the agent refused the connection")))
        self._sock = sock
        if replay_initialize and self._initialize_request is not None:
            args, kwargs = self._initialize_request
            if not self._exchange(sock, "initialize", args, kwargs):
                raise WireError(f"initialize again after reconnecting failed: {self._last_error[1]}")
        return sock

    def _exchange(self, sock: socket.socket, name: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
        self._next_id += 1
        send_frame(
            sock,
            {"id": self._next_id, "call": name, "args": encode_value(args), "kwargs": encode_value(kwargs)},
        )
        reply = recv_frame(sock)
        if reply.get("id") != self._next_id:
            raise WireError(f"reply {reply.get('id')} does not answer request {self._next_id}")
        if "error" in reply:
            raise RemoteCallError(f"the agent at {self._address} refused {name}: {reply['error']}")
        code, message = reply["last_error"]
        self._last_error = (int(code), str(message))
        return decode_value(reply["result"])
