"""The pool's configuration: which terminals exist, how to reach them, and the supervisor's timings.

Two file layouts are read:

- TOML (``config/mt5gateway.example.toml``): a ``[pool]`` table (or the same keys at top level)
  with ``[[pool.terminals]]`` entries.
- The original service's ``config/mt5_terminals.json``: ``{"terminals": [{"id", "symbol", "login",
  "server", "password"}]}`` where values may be ``"${ENV_VAR}"`` placeholders; ``backend``,
  ``path``, ``address``, ``symbols`` and ``accounts`` may be added. Its backend defaults to
  ``metatrader5``.

Passwords never sit in the file: a terminal names the environment variable that holds its password
(``password_env``), read when the config is loaded. Every mistake stops loading with a
``ConfigError`` of one line naming the file and the field, e.g.
``pool.toml: terminals[1].backend: unknown backend 'mt4' (choose sim, metatrader5 or remote)``.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import tomllib
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..sim.markettime import ServerTime
from ..sim.symbols import DEFAULT_SYMBOLS
from .backends import DEFAULT_SIM_SEED, DEFAULT_SIM_SERVER, BackendSpec

__all__ = [
    "BACKENDS",
    "DEFAULT_SYMBOLS_BY_TERMINAL",
    "ConfigError",
    "DeadlineConfig",
    "PoolConfig",
    "SimSettings",
    "TerminalConfig",
    "default_pool_config",
    "load_pool_config",
    "parse_pool_config",
]

BACKENDS: tuple[str, ...] = ("sim", "metatrader5", "remote")

# SPEC 5: the default deployment, one symbol per simulated terminal.
DEFAULT_SYMBOLS_BY_TERMINAL: dict[str, str] = {
    f"MT5_{index:02d}": symbol for index, symbol in enumerate(DEFAULT_SYMBOLS, start=1)
}

_ENV_PLACEHOLDER = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$")


class ConfigError(ValueError):
    """A configuration mistake, as one line naming the file and the field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DeadlineConfig(_Strict):
    """Seconds a call may take, by kind, before the worker is declared hung and restarted."""

    fast: float = Field(2.0, gt=0, description="info, tick, symbol and account calls")
    history: float = Field(10.0, gt=0, description="copy_rates_*, copy_ticks_*, history_*")
    trade: float = Field(10.0, gt=0, description="order_send and order_check")
    connect: float = Field(30.0, gt=0, description="initialize, login, and a worker's start-up")


class SimSettings(_Strict):
    """How the simulated terminals are built (shared by every ``sim`` terminal of the pool)."""

    seed: int = Field(DEFAULT_SIM_SEED, description="seed of the deterministic market")
    speed: float = Field(1.0, gt=0, description="sim seconds per real second (1 = real time)")
    server: str = Field(DEFAULT_SIM_SERVER, description="the simulated trade server's name")
    broker_db: str | None = Field(
        None,
        description="SQLite file of the simulated broker, shared by the terminals so that accounts "
        "outlive a worker restart; None: the simulator's default file; ':memory:': one per worker",
    )
    start: datetime | None = Field(
        None,
        description="sim time when the pool starts (UTC; e.g. a weekday for a weekend demo); None: now",
    )
    manual: bool = Field(
        False, description="a manual clock standing at start, moved only by sim_control (tests, drills)"
    )
    server_time: str = Field(
        "broker",
        description="the server clock: 'broker' (UTC+2, UTC+3 in US summer time), 'UTC' or 'UTC+N'",
    )

    @field_validator("server_time")
    @classmethod
    def _server_time(cls, value: str) -> str:
        return str(ServerTime(value))

    @field_validator("start")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        return value if value is None or value.tzinfo is not None else value.replace(tzinfo=UTC)


class TerminalConfig(_Strict):
    """One terminal: its backend, what it serves, and how to log in."""

    id: str = Field(min_length=1, description="the terminal's id, e.g. MT5_01")
    backend: str = Field("sim", description="sim, metatrader5 or remote")
    symbols: tuple[str, ...] = Field((), description="symbols routed to this terminal")
    accounts: tuple[int, ...] = Field((), description="account logins routed to this terminal")
    path: str | None = Field(None, description="terminal64.exe of this terminal (metatrader5)")
    address: str | None = Field(None, description="host:port of its agent (remote)")
    login: int | None = Field(None, description="account to log in with at initialize")
    server: str | None = Field(None, description="trade server of that account")
    password_env: str | None = Field(None, description="environment variable holding the password")
    token_env: str = Field("MT5GW_AGENT_TOKEN", description="environment variable holding the agent token")
    password: str | None = Field(None, exclude=True, repr=False, description="read from password_env")
    token: str | None = Field(None, exclude=True, repr=False, description="read from token_env")

    @field_validator("backend")
    @classmethod
    def _known_backend(cls, value: str) -> str:
        if value not in BACKENDS:
            raise ValueError(f"unknown backend {value!r} (choose sim, metatrader5 or remote)")
        return value

    @field_validator("address")
    @classmethod
    def _host_port(cls, value: str | None) -> str | None:
        if value is not None:
            host, _, port = value.rpartition(":")
            if not host or not port.isdigit():
                raise ValueError(f"expected host:port, got {value!r}")
        return value

    def backend_spec(self, sim: SimSettings, *, sim_anchor_msc: int) -> BackendSpec:
        """The plain-data description of this terminal that its worker process receives.

        ``sim_anchor_msc`` is the real time (epoch ms) at which the pool's sim clock stood at
        ``sim.start`` (at that very time when no start is set): one anchor per pool, so a respawned
        worker continues the same timeline at any speed.
        """
        return BackendSpec(
            terminal_id=self.id,
            backend=self.backend,
            symbols=self.symbols,
            path=self.path,
            address=self.address,
            login=self.login,
            server=self.server,
            password=self.password,
            token=self.token,
            sim_seed=sim.seed,
            sim_speed=sim.speed,
            sim_start_msc=sim_anchor_msc if sim.start is None else int(sim.start.timestamp() * 1000),
            sim_anchor_msc=sim_anchor_msc,
            sim_manual=sim.manual,
            sim_server_time=sim.server_time,
            sim_server=sim.server,
            sim_broker_db=sim.broker_db,
        )

    @property
    def routes_login(self) -> tuple[int, ...]:
        """Every login this terminal serves (its configured accounts and its own login)."""
        logins = list(self.accounts)
        if self.login is not None and self.login not in logins:
            logins.append(self.login)
        return tuple(logins)


class PoolConfig(_Strict):
    """The pool: its terminals and the supervisor's timings (seconds)."""

    terminals: tuple[TerminalConfig, ...] = Field(min_length=1)
    poll_interval: float = Field(0.05, gt=0, description="how often a worker polls its symbols' ticks")
    health_interval: float = Field(10.0, gt=0, description="how often terminal_info() is checked")
    backoff_initial: float = Field(1.0, gt=0, description="first restart delay")
    backoff_max: float = Field(60.0, gt=0, description="restart delays double up to this")
    stop_grace: float = Field(2.0, ge=0, description="a stopping worker is killed after this")
    log_lines: int = Field(1000, ge=1, description="log lines kept per worker")
    deadlines: DeadlineConfig = DeadlineConfig()
    sim: SimSettings = SimSettings()

    def terminal(self, terminal_id: str) -> TerminalConfig | None:
        """The terminal with that id, if configured."""
        return next((t for t in self.terminals if t.id == terminal_id), None)


def default_pool_config(**overrides: Any) -> PoolConfig:
    """SPEC 5's default: 15 simulated terminals MT5_01..MT5_15, one symbol each."""
    terminals = [
        {"id": terminal_id, "backend": "sim", "symbols": [symbol]}
        for terminal_id, symbol in DEFAULT_SYMBOLS_BY_TERMINAL.items()
    ]
    return parse_pool_config({"terminals": terminals, **overrides}, source="default config")


def load_pool_config(path: str | Path, environ: Mapping[str, str] | None = None) -> PoolConfig:
    """Read a TOML or ``mt5_terminals.json`` file; raises ``ConfigError`` (one line) on any mistake."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{file}: cannot read ({exc.strerror})") from None
    if file.suffix.lower() == ".json":
        try:
            document = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{file.name}: invalid JSON at line {exc.lineno}: {exc.msg}") from None
        data = _from_original_json(document, file.name, os.environ if environ is None else environ)
    else:
        try:
            document = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{file.name}: invalid TOML: {exc}") from None
        data = document.get("pool", document)
    return parse_pool_config(data, source=file.name, environ=environ)


def parse_pool_config(
    data: Any, *, source: str = "config", environ: Mapping[str, str] | None = None
) -> PoolConfig:
    """Validate a mapping (the ``[pool]`` table) into a ``PoolConfig`` with passwords resolved."""
    env = os.environ if environ is None else environ
    _refuse_inline_secrets(data, source)
    try:
        config = PoolConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{source}: {_first_problem(exc)}") from None
    _check_routes(config, source)
    return config.model_copy(
        update={"terminals": tuple(_with_secrets(t, i, source, env) for i, t in enumerate(config.terminals))}
    )


def _refuse_inline_secrets(data: Any, source: str) -> None:
    terminals = data.get("terminals") if isinstance(data, dict) else None
    for index, entry in enumerate(terminals if isinstance(terminals, list | tuple) else ()):
        for key, holder in (("password", "password_env"), ("token", "token_env")):
            if isinstance(entry, dict) and key in entry:
                raise ConfigError(
                    f"{source}: terminals[{index}].{key}: secrets are not kept in config files; "
                    f"name the environment variable that holds it with {holder}"
                )


def _first_problem(exc: ValidationError) -> str:
    error = exc.errors()[0]
    location = _location(error["loc"])
    if error["type"] == "extra_forbidden":
        key = str(error["loc"][-1])
        model: type[BaseModel] = PoolConfig
        for part in error["loc"][:-1]:
            if part == "terminals":
                model = TerminalConfig
            elif part == "deadlines":
                model = DeadlineConfig
            elif part == "sim":
                model = SimSettings
        known = [name for name, field in model.model_fields.items() if field.exclude is not True]
        close = difflib.get_close_matches(key, known, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else f" (known keys: {', '.join(known)})"
        return f"{location}: unknown key{hint}"
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{location}: {message}"


def _location(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def _check_routes(config: PoolConfig, source: str) -> None:
    terminal_ids: dict[str, int] = {}
    symbol_owner: dict[str, str] = {}
    login_owner: dict[int, str] = {}
    for index, terminal in enumerate(config.terminals):
        where = f"{source}: terminals[{index}]"
        if terminal.id in terminal_ids:
            raise ConfigError(
                f"{where}.id: {terminal.id} is already used by terminals[{terminal_ids[terminal.id]}]"
            )
        terminal_ids[terminal.id] = index
        for symbol in terminal.symbols:
            if symbol in symbol_owner:
                raise ConfigError(f"{where}.symbols: {symbol} is already served by {symbol_owner[symbol]}")
            symbol_owner[symbol] = terminal.id
        for login in terminal.routes_login:
            if login in login_owner:
                raise ConfigError(
                    f"{where}.accounts: login {login} is already served by {login_owner[login]}"
                )
            login_owner[login] = terminal.id
        if terminal.backend == "metatrader5" and not terminal.path:
            raise ConfigError(
                f"{where}.path: required for the metatrader5 backend (each terminal has its own install directory)"
            )
        if terminal.backend == "remote" and not terminal.address:
            raise ConfigError(f"{where}.address: required for the remote backend (host:port of its agent)")


def _with_secrets(
    terminal: TerminalConfig, index: int, source: str, env: Mapping[str, str]
) -> TerminalConfig:
    update: dict[str, str] = {}
    if terminal.password_env is not None:
        if terminal.password_env not in env:
            raise ConfigError(
                f"{source}: terminals[{index}].password_env: environment variable "
                f"{terminal.password_env} is not set"
            )
        update["password"] = env[terminal.password_env]
    if terminal.backend == "remote":
        if not env.get(terminal.token_env):
            raise ConfigError(
                f"{source}: terminals[{index}].token_env: environment variable {terminal.token_env} "
                "(the agent's token) is not set"
            )
        update["token"] = env[terminal.token_env]
    return terminal.model_copy(update=update) if update else terminal


def _from_original_json(document: Any, source: str, env: Mapping[str, str]) -> dict[str, Any]:
    """Translate the original ``mt5_terminals.json`` into the ``[pool]`` table's shape."""
    if not isinstance(document, dict) or not isinstance(document.get("terminals"), list):
        raise ConfigError(f'{source}: terminals: expected a list of terminals under "terminals"')
    terminals: list[dict[str, Any]] = []
    for index, entry in enumerate(document["terminals"]):
        if not isinstance(entry, dict):
            raise ConfigError(f"{source}: terminals[{index}]: expected an object")
        item = dict(entry)
        item.setdefault("backend", "metatrader5")
        if "symbol" in item:
            item["symbols"] = [item.pop("symbol"), *item.get("symbols", [])]
        if "password" in item:
            password = item.pop("password")
            match = _ENV_PLACEHOLDER.match(str(password))
            if match is None:
                raise ConfigError(
                    f'{source}: terminals[{index}].password: write it as "${{ENV_VAR}}"; '
                    "passwords are not kept in config files"
                )
            item["password_env"] = match.group(1)
        for key in ("login", "server"):
            value = item.get(key)
            match = _ENV_PLACEHOLDER.match(value) if isinstance(value, str) else None
            if match is not None:
                if match.group(1) not in env:
                    raise ConfigError(
                        f"{source}: terminals[{index}].{key}: environment variable {match.group(1)} is not set"
                    )
                item[key] = env[match.group(1)]
        terminals.append(item)
    return {key: value for key, value in document.items() if key != "terminals"} | {"terminals": terminals}
