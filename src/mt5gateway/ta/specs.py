"""The indicator spec syntax: ``RSI(14)``, ``MACD(12,26,9)``, ``BBANDS(timeperiod=20,nbdevup=2)``,
``MACD.macdhist`` (docs/ta.md).

::

    spec      := NAME [ "(" [ argument { "," argument } ] ")" ] [ "." OUTPUT ]
    argument  := value | NAME "=" value        positional ones first, in the function's order
    value     := number | MA type name         14, 2.5, -1, 1e-3, EMA

Names are case-insensitive; a parameter left out takes our default (``catalogue``). Every spec has
one canonical form, every parameter positional, a moving-average type by name: ``rsi`` ->
``RSI(14)``, ``BBANDS(timeperiod=20,nbdevup=2)`` -> ``BBANDS(20,2,2,SMA)``. Requests, cache keys
and channel names use it, so two spellings of one indicator share one computation. A spec that
cannot be understood raises ``BadRequest`` with a sentence naming the problem.

The tokenizer and ``SpecParser`` are shared with the scanner's condition grammar (``conditions``).
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal

from mt5gateway.errors import BadRequest

from .catalogue import CATALOGUE, MA_TYPE_NAMES, MA_TYPES, Parameter, TAFunction

__all__ = [
    "MAX_SPEC_LENGTH",
    "IndicatorSpec",
    "SpecParser",
    "Token",
    "format_value",
    "parse_list",
    "parse_spec",
    "parse_specs",
    "tokenize",
]

MAX_SPEC_LENGTH = 2_000
"""Longest spec list or condition accepted, in characters (a request line stays small)."""

TokenKind = Literal["name", "number", "(", ")", ",", "=", ".", "op", "end"]

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<number>[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)
      | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
      | (?P<op><=|>=|==|!=|<|>)
      | (?P<punct>[(),=.])
    )""",
    re.VERBOSE,
)


@dataclass(frozen=True)
class Token:
    """A token of a spec or condition: its kind, text and where it starts (0-based)."""

    kind: TokenKind
    text: str
    position: int


def tokenize(text: str, *, what: str, field: str) -> list[Token]:
    """The tokens of ``text``, ending with an ``end`` token; ``BadRequest`` on a stray character."""
    if len(text) > MAX_SPEC_LENGTH:
        raise BadRequest(f"{what} is {len(text)} characters long; at most {MAX_SPEC_LENGTH}", field=field)
    tokens: list[Token] = []
    position = 0
    while True:
        while position < len(text) and text[position].isspace():
            position += 1
        if position == len(text):
            tokens.append(Token("end", "", position))
            return tokens
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise BadRequest(
                f"Malformed {what} {text!r}: unexpected {text[position]!r} at position {position + 1}",
                field=field,
            )
        start = match.start(match.lastgroup or 0)
        kind = match.lastgroup
        value = match.group(kind or 0)
        if kind == "punct":
            tokens.append(Token(value, value, start))  # type: ignore[arg-type]  # one of ( ) , = .
        else:
            tokens.append(Token(kind, value, start))  # type: ignore[arg-type]  # number, name, op
        position = match.end()


def format_value(parameter: Parameter, value: int | float) -> str:
    """``value`` as the canonical spec writes it: ``14``, ``2``, ``0.02``, ``EMA``."""
    if parameter.kind == "matype":
        return MA_TYPE_NAMES[int(value)]
    if parameter.kind == "int":
        return str(int(value))
    number = float(value)
    return str(int(number)) if number.is_integer() and abs(number) < 1e15 else repr(number)


@dataclass(frozen=True)
class IndicatorSpec:
    """A checked spec: the function's name, a value for every parameter (in order), an output or None."""

    name: str
    values: tuple[int | float, ...]
    output: str | None = None

    @property
    def function(self) -> TAFunction:
        return CATALOGUE[self.name]

    @property
    def outputs(self) -> tuple[str, ...]:
        """The outputs this spec gives: the one selected, else all of the function's."""
        return (self.output,) if self.output is not None else self.function.outputs

    @property
    def parameters(self) -> dict[str, int | float]:
        """Parameter name -> value, as TA-Lib takes them."""
        return {p.name: v for p, v in zip(self.function.parameters, self.values, strict=True)}

    @property
    def call(self) -> str:
        """The canonical form without the output: ``MACD(12,26,9)``."""
        if not self.values:
            return self.name
        parameters = self.function.parameters
        return f"{self.name}({','.join(format_value(p, v) for p, v in zip(parameters, self.values, strict=True))})"

    @property
    def canonical(self) -> str:
        """The canonical form: ``MACD(12,26,9)``, ``MACD(12,26,9).macdhist``."""
        return self.call if self.output is None else f"{self.call}.{self.output}"

    @property
    def label(self) -> str:
        """The canonical form, without the output of a single-output function: ``RSI(14)``."""
        return self.call if self.output is None or len(self.function.outputs) == 1 else self.canonical

    def with_output(self, output: str | None) -> IndicatorSpec:
        """The same call with another output selected (None: all)."""
        return IndicatorSpec(self.name, self.values, output)

    def __str__(self) -> str:
        return self.canonical


class SpecParser:
    """A recursive-descent parser over ``tokenize``'s tokens; ``spec()`` reads one indicator spec."""

    def __init__(self, text: str, *, what: str, field: str) -> None:
        self.text = text
        self.what = what
        self.field = field
        self.tokens = tokenize(text, what=what, field=field)
        self.index = 0

    # -- token access --

    @property
    def current(self) -> Token:
        return self.tokens[self.index]

    def peek(self, offset: int = 1) -> Token:
        return self.tokens[min(self.index + offset, len(self.tokens) - 1)]

    def advance(self) -> Token:
        token = self.tokens[self.index]
        if token.kind != "end":
            self.index += 1
        return token

    def accept(self, kind: TokenKind) -> Token | None:
        """The current token, consumed, if it is of ``kind``."""
        return self.advance() if self.current.kind == kind else None

    def error(self, problem: str) -> BadRequest:
        """A ``BadRequest`` that quotes the text and says where ``problem`` was found."""
        token = self.current
        where = "at the end" if token.kind == "end" else f"at position {token.position + 1} ({token.text!r})"
        return BadRequest(f"Malformed {self.what} {self.text!r}: {problem} {where}", field=self.field)

    def expect(self, kind: TokenKind, description: str) -> Token:
        token = self.accept(kind)
        if token is None:
            raise self.error(f"expected {description}")
        return token

    def expect_end(self) -> None:
        if self.current.kind != "end":
            raise self.error("unexpected text")

    # -- specs --

    def spec(self) -> IndicatorSpec:
        """``NAME [ ( arguments ) ] [ .OUTPUT ]`` at the current token."""
        name_token = self.expect("name", "an indicator name")
        function = self._function(name_token.text)
        positional: list[Token] = []
        keywords: dict[str, Token] = {}
        if self.accept("(") and self.accept(")") is None:
            while True:
                self._argument(function, positional, keywords)
                if self.accept(")"):
                    break
                self.expect(",", "',' or ')'")
        values = self._values(function, positional, keywords)
        output = None
        if self.accept("."):
            output = self._output(function, self.expect("name", "an output name after '.'").text)
        return IndicatorSpec(function.name, values, output)

    def _function(self, name: str) -> TAFunction:
        function = CATALOGUE.get(name.upper())
        if function is None:
            close = difflib.get_close_matches(name.upper(), CATALOGUE, n=3)
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            raise BadRequest(
                f"Unknown indicator {name}{hint}: GET /api/ta/functions lists them", field=self.field
            )
        return function

    def _argument(self, function: TAFunction, positional: list[Token], keywords: dict[str, Token]) -> None:
        if self.current.kind == "name" and self.peek().kind == "=":
            key = self.advance().text.lower()
            self.advance()
            if function.parameter(key) is None:
                raise BadRequest(
                    f"{function.name} has no parameter {key}; it takes "
                    f"{', '.join(p.name for p in function.parameters) or 'none'}",
                    field=self.field,
                )
            if key in keywords:
                raise BadRequest(f"{function.name} parameter {key} is given twice", field=self.field)
            keywords[key] = self._value_token()
            return
        if keywords:
            raise self.error("a positional parameter after a named one")
        positional.append(self._value_token())

    def _value_token(self) -> Token:
        token = self.current
        if token.kind not in ("number", "name"):
            raise self.error("expected a number or a moving-average type")
        return self.advance()

    def _values(
        self, function: TAFunction, positional: list[Token], keywords: dict[str, Token]
    ) -> tuple[int | float, ...]:
        parameters = function.parameters
        if len(positional) > len(parameters):
            taken = ", ".join(p.name for p in parameters) or "none"
            raise BadRequest(
                f"{function.name} takes {len(parameters)} parameter{'s' * (len(parameters) != 1)} "
                f"({taken}); {len(positional)} were given",
                field=self.field,
            )
        given = {p.name: token for p, token in zip(parameters, positional, strict=False)}
        for key in keywords:
            if key in given:
                raise BadRequest(
                    f"{function.name} parameter {key} is given both by position and by name", field=self.field
                )
        given.update(keywords)
        return tuple(
            self._checked(function, p, given[p.name]) if p.name in given else p.default for p in parameters
        )

    def _checked(self, function: TAFunction, parameter: Parameter, token: Token) -> int | float:
        label = f"{function.name} parameter {parameter.name}"
        if parameter.kind == "matype" and token.kind == "name":
            ma_type = MA_TYPES.get(token.text.upper())
            if ma_type is None:
                raise BadRequest(
                    f"{label} must be a moving-average type ({', '.join(MA_TYPES)}) or "
                    f"{parameter.minimum}..{parameter.maximum}, got {token.text}",
                    field=self.field,
                )
            return ma_type
        if token.kind != "number":
            raise BadRequest(f"{label} must be a number, got {token.text}", field=self.field)
        number = float(token.text)
        if not math.isfinite(number):
            raise BadRequest(f"{label} must be a finite number, got {token.text}", field=self.field)
        value: int | float = number
        if parameter.kind != "float":
            if not number.is_integer():
                raise BadRequest(f"{label} must be a whole number, got {token.text}", field=self.field)
            value = int(number)
        if not parameter.minimum <= value <= parameter.maximum:
            raise BadRequest(
                f"{label} must be between {parameter.minimum:g} and {parameter.maximum:g}, got {token.text}",
                field=self.field,
            )
        return value

    def _output(self, function: TAFunction, name: str) -> str:
        output = name.lower()
        if output not in function.outputs:
            raise BadRequest(
                f"{function.name} has no output {name}; its outputs are {', '.join(function.outputs)}",
                field=self.field,
            )
        return output


def parse_spec(text: str, *, field: str = "indicators") -> IndicatorSpec:
    """One spec: ``"RSI(14)"`` -> ``IndicatorSpec("RSI", (14,))``; ``BadRequest`` naming the problem."""
    parser = SpecParser(text, what="indicator", field=field)
    spec = parser.spec()
    parser.expect_end()
    return spec


def parse_list(
    texts: str | list[str], *, what: str, field: str, item: Callable[[SpecParser], Iterable[IndicatorSpec]]
) -> list[IndicatorSpec]:
    """Comma-separated items (commas inside parentheses belong to an item) from one text or several,
    each read by ``item`` (one spec, or several); in order, repeats dropped."""
    specs: dict[str, IndicatorSpec] = {}
    for text in [texts] if isinstance(texts, str) else texts:
        parser = SpecParser(text, what=what, field=field)
        if parser.current.kind == "end":
            continue
        while True:
            for spec in item(parser):
                specs.setdefault(spec.canonical, spec)
            if parser.accept(",") is None:
                break
        parser.expect_end()
    return list(specs.values())


def parse_specs(texts: str | list[str], *, field: str = "indicators") -> list[IndicatorSpec]:
    """Comma-separated specs, from one text or several: ``"RSI(14),MACD(12,26,9)"`` -> two specs."""
    return parse_list(texts, what="indicator list", field=field, item=lambda parser: [parser.spec()])
