"""``mt5gateway agent``: serve one terminal's 32 API calls to a remote pool over TCP.

It runs next to a terminal (on its Windows or Wine host) and answers only the MetaTrader5 API
functions: a frame names one of the 32 functions and carries data arguments (``wire.py``), never
code, unlike RPyC-style bridges. A client must first send the shared token (from an environment
variable on both sides, compared in constant time); a wrong token is answered ``unauthorized`` and
the connection closed. Calls from several connections are served one at a time, since the official
module is not thread-safe. Every reply carries ``last_error()`` so the client can answer it locally.

The link is plain TCP: across untrusted networks, tunnel it (SSH, WireGuard, stunnel).
"""

from __future__ import annotations

import argparse
import contextlib
import hmac
import logging
import os
import socket
import socketserver
import sys
import threading
from typing import Any

from ..terminal.api import API_FUNCTIONS
from .backends import DEFAULT_SIM_SEED, BackendSpec, make_backend
from .wire import WireError, decode_value, encode_value, recv_frame, send_frame

__all__ = ["AgentServer", "add_arguments", "run"]

DEFAULT_TOKEN_ENV = "MT5GW_AGENT_TOKEN"
# A client that has not authenticated within this many seconds is dropped.
AUTH_TIMEOUT_S = 10.0

log = logging.getLogger("mt5gateway.pool.agent")


class AgentServer(socketserver.ThreadingTCPServer):
    """A TCP server exposing one backend's API functions to clients that know the token."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], backend: Any, token: str) -> None:
        super().__init__(address, _AgentHandler)
        self.backend = backend
        self.token = token.encode()
        self.backend_lock = threading.Lock()

    def answer(self, request: dict[str, Any]) -> dict[str, Any]:
        """The reply frame to one call frame."""
        request_id = request.get("id")
        function = request.get("call")
        if function not in API_FUNCTIONS:
            return {"id": request_id, "error": f"{function!r} is not one of the 32 API functions"}
        args = decode_value(request.get("args", []))
        kwargs = decode_value(request.get("kwargs", {}))
        if not isinstance(args, list) or not isinstance(kwargs, dict):
            return {"id": request_id, "error": "args must be a list and kwargs an object"}
        with self.backend_lock:
            try:
                result = getattr(self.backend, function)(*args, **kwargs)
            except Exception as exc:
                return {"id": request_id, "error": f"{type(exc).__name__}: {exc}"}
            code, message = self.backend.last_error()
        return {"id": request_id, "result": encode_value(result), "last_error": [code, message]}


class _AgentHandler(socketserver.BaseRequestHandler):
    server: AgentServer

    def handle(self) -> None:
        sock: socket.socket = self.request
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        peer = f"{self.client_address[0]}:{self.client_address[1]}"
        try:
            sock.settimeout(AUTH_TIMEOUT_S)
            hello = recv_frame(sock)
            given = str(hello.get("token", "")).encode()
            if not hmac.compare_digest(given, self.server.token):
                log.warning("refused %s: wrong token", peer)
                send_frame(sock, {"ok": False, "error": "unauthorized"})
                return
            send_frame(sock, {"ok": True})
            sock.settimeout(None)
            log.info("pool connected from %s", peer)
            while True:
                send_frame(sock, self.server.answer(recv_frame(sock)))
        except (OSError, WireError) as exc:
            log.info("connection from %s ended: %s", peer, exc)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``mt5gateway agent``."""
    parser.add_argument(
        "--listen", required=True, metavar="HOST:PORT", help="address to serve on (port 0: any)"
    )
    parser.add_argument(
        "--backend", choices=("metatrader5", "sim"), default="metatrader5", help="the terminal to serve"
    )
    parser.add_argument("--path", help="the terminal's terminal64.exe (metatrader5 backend)")
    parser.add_argument(
        "--token-env",
        default=DEFAULT_TOKEN_ENV,
        help=f"environment variable holding the token ({DEFAULT_TOKEN_ENV})",
    )
    parser.add_argument("--sim-seed", type=int, default=DEFAULT_SIM_SEED, help="seed of the simulated market")
    parser.add_argument("--sim-db", help="SQLite file of the simulated broker (default: the simulator's)")


def run(args: argparse.Namespace) -> int:
    """Serve until interrupted."""
    token = os.environ.get(args.token_env, "")
    if not token:
        print(
            f"mt5gateway agent: environment variable {args.token_env} (the pool's token) is not set",
            file=sys.stderr,
        )
        return 2
    host, _, port = args.listen.rpartition(":")
    if not host or not port.isdigit():
        print(f"mt5gateway agent: --listen expects HOST:PORT, got {args.listen!r}", file=sys.stderr)
        return 2
    spec = BackendSpec(
        terminal_id="agent",
        backend=args.backend,
        path=args.path,
        sim_seed=args.sim_seed,
        sim_broker_db=args.sim_db,
    )
    backend = make_backend(spec, call_timeout=30.0)
    with AgentServer((host.strip("[]"), int(port)), backend, token) as server:
        bound_host, bound_port = str(server.server_address[0]), int(server.server_address[1])
        print(
            f"mt5gateway agent: serving the {args.backend} terminal on {bound_host}:{bound_port}", flush=True
        )
        with contextlib.suppress(KeyboardInterrupt):
            server.serve_forever()
    return 0
