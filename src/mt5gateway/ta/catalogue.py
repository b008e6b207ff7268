"""The served TA-Lib functions, read from ``functions.toml``: our own defaults, ranges and outputs.

Every computation passes every parameter explicitly, with the values written down in that file, so
the installed TA-Lib's own defaults never decide what a spec means (``tests/ta/test_catalogue.py``
checks the file against the installed TA-Lib).
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from types import MappingProxyType
from typing import Any, Literal

__all__ = [
    "CATALOGUE",
    "COLUMNS",
    "MA_TYPES",
    "MA_TYPE_NAMES",
    "PATTERNS",
    "Parameter",
    "ParameterKind",
    "TAFunction",
    "function_body",
    "unstable_knobs_of",
]

ParameterKind = Literal["int", "float", "matype"]

COLUMNS = ("open", "high", "low", "close", "volume")
"""The bar columns a function can read (``volume`` is the bar's tick volume)."""


@dataclass(frozen=True)
class Parameter:
    """One parameter: its name, kind, our default and the accepted range (inclusive)."""

    name: str
    kind: ParameterKind
    default: int | float
    minimum: int | float
    maximum: int | float
    description: str

    def as_dict(self) -> dict[str, Any]:
        """The catalogue entry of this parameter."""
        entry: dict[str, Any] = {
            "name": self.name,
            "type": self.kind,
            "default": self.default,
            "min": self.minimum,
            "max": self.maximum,
            "description": self.description,
        }
        if self.kind == "matype":
            entry["default"] = MA_TYPE_NAMES[int(self.default)]
            entry["choices"] = list(MA_TYPES)
        return entry


@dataclass(frozen=True)
class TAFunction:
    """A served TA-Lib function: what it reads, what it takes and what it gives."""

    name: str
    group: str
    display_name: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    parameters: tuple[Parameter, ...]
    unstable: bool
    path_dependent: bool
    candlestick: bool
    # TA-Lib unstable-period knob -> how many times the value runs through it, moving-average-type
    # parameters aside (``unstable_knobs_of`` adds theirs)
    unstable_knobs: Mapping[str, int]

    def parameter(self, name: str) -> Parameter | None:
        """The parameter called ``name`` (lower case), if any."""
        return next((p for p in self.parameters if p.name == name), None)

    @property
    def defaults(self) -> tuple[int | float, ...]:
        """Our default for every parameter, in order."""
        return tuple(p.default for p in self.parameters)


def _load() -> tuple[dict[str, int], dict[str, dict[str, int]], dict[str, TAFunction]]:
    raw = tomllib.loads(resources.files(__package__).joinpath("functions.toml").read_text("utf-8"))
    ma_types: dict[str, int] = dict(raw["ma_types"])
    ma_type_knobs: dict[str, dict[str, int]] = dict(raw["ma_type_unstable_knobs"])
    functions: dict[str, TAFunction] = {}
    for name, entry in raw["functions"].items():
        flags = set(entry.get("flags", ()))
        functions[name] = TAFunction(
            name=name,
            group=entry["group"],
            display_name=entry["name"],
            inputs=tuple(entry["inputs"]),
            outputs=tuple(entry["outputs"]),
            parameters=tuple(
                Parameter(
                    name=p["name"],
                    kind=p["type"],
                    default=p["default"],
                    minimum=p["min"],
                    maximum=p["max"],
                    description=p["description"],
                )
                for p in entry.get("parameters", ())
            ),
            unstable="unstable" in flags,
            path_dependent="path_dependent" in flags,
            candlestick="candlestick" in flags,
            unstable_knobs=MappingProxyType(dict(entry.get("unstable_knobs", {}))),
        )
    return ma_types, ma_type_knobs, functions


_ma_types, _ma_type_knobs, _functions = _load()

MA_TYPES: Mapping[str, int] = MappingProxyType(_ma_types)
"""Moving-average type names (``SMA``, ``EMA``, ...) -> TA-Lib's ``matype`` value."""

MA_TYPE_NAMES: Mapping[int, str] = MappingProxyType({value: name for name, value in _ma_types.items()})

_DEFAULT_MA_TYPE = _ma_types["DEFAULT"]

CATALOGUE: Mapping[str, TAFunction] = MappingProxyType(_functions)
"""Every served function by TA-Lib name, in TA-Lib's group order."""

PATTERNS: Mapping[str, TAFunction] = MappingProxyType(
    {name: function for name, function in _functions.items() if function.candlestick}
)
"""The candlestick patterns (``CDL...``): output +100 bullish, -100 bearish (some give +-200)."""


def unstable_knobs_of(function: TAFunction, values: tuple[int | float, ...]) -> dict[str, int]:
    """TA-Lib unstable-period knob -> how many times ``function`` with ``values`` runs through it.

    A moving-average-type parameter adds its type's knobs; ``DEFAULT`` stands for the parameter's
    own default type, as TA-Lib reads it.
    """
    knobs = dict(function.unstable_knobs)
    for parameter, value in zip(function.parameters, values, strict=True):
        if parameter.kind != "matype":
            continue
        chosen = int(parameter.default) if value == _DEFAULT_MA_TYPE else int(value)
        for knob, count in _ma_type_knobs.get(MA_TYPE_NAMES[chosen], {}).items():
            knobs[knob] = knobs.get(knob, 0) + count
    return knobs


def function_body(function: TAFunction) -> dict[str, Any]:
    """The catalogue entry of ``function`` as served by ``GET /api/ta/functions``."""
    return {
        "name": function.name,
        "display_name": function.display_name,
        "group": function.group,
        "inputs": list(function.inputs),
        "parameters": [p.as_dict() for p in function.parameters],
        "outputs": list(function.outputs),
        "unstable": function.unstable,
        "path_dependent": function.path_dependent,
        "candlestick": function.candlestick,
    }
