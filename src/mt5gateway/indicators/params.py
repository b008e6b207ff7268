"""The overlay parameters (SPEC 7): every default is the MQL5 indicators' own, every range explicit.

``OverlayParams`` is frozen and hashable, so a cache can key on it; ``parse_overlay_params`` turns
query options into one and reports a bad value as ``BadRequest`` naming the field and its limit.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from mt5gateway.errors import BadRequest

__all__ = ["MAX_FRACTALS_PER_TYPE", "OverlayParams", "minimum_history", "parse_overlay_params"]

MAX_FRACTALS_PER_TYPE = 300
"""Bound on ``lookback / (S + 1)``, the most fractals of one type a lookback can hold.

Line search costs grow with the cube of the fractal count, so this keeps any accepted request
within a fraction of a second (the defaults give at most 23).
"""


class OverlayParams(BaseModel):
    """Parameters of the fractal, horizontal-line and diagonal-line overlays (SPEC 7).

    Bars are counted oldest-first; ``S = (window - 1) / 2`` bars on each side decide a fractal.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    window: int = Field(35, ge=3, le=201, description="Fractal window W in bars, odd (S = (W-1)/2 per side).")
    lookback: int = Field(400, ge=50, le=5000, description="Newest bars whose fractals anchor lines.")
    atr_period: int = Field(14, ge=1, le=500, description="Bars in the simple mean of true range (ATR).")
    tolerance_mode: Literal["percent", "atr"] = Field(
        "percent", description="How far from a line a fractal still touches it: % of its price, or x ATR."
    )
    tolerance_percent: float = Field(
        1.5, gt=0, le=50, description="Tolerance in % of the fractal's price (mode `percent`)."
    )
    tolerance_atr: float = Field(1.5, gt=0, le=50, description="Tolerance in multiples of ATR (mode `atr`).")
    horizontal_min_span: int = Field(
        20, ge=1, le=5000, description="Fewest bars between a horizontal line's anchors."
    )
    horizontal_min_touches: int = Field(
        3, ge=2, le=100, description="Fewest touches (anchors included) of a horizontal line."
    )
    diagonal_min_span: int = Field(
        80, ge=1, le=5000, description="Fewest bars between a diagonal line's anchors."
    )
    diagonal_min_touches: int = Field(
        4, ge=2, le=100, description="Fewest touches (anchors included) of a diagonal line."
    )
    diagonal_min_per_type: int = Field(
        2, ge=1, le=50, description="Fewest peak touches and fewest bottom touches of a diagonal line."
    )
    diagonal_max_consecutive: int = Field(
        2, ge=1, le=100, description="Most consecutive touches of one type along a diagonal line."
    )
    diagonal_min_angle: float = Field(
        2.0, ge=0, lt=90, description="Smallest |angle| of a diagonal line, degrees."
    )
    diagonal_max_angle: float = Field(
        45.0, gt=0, le=90, description="Largest |angle| of a diagonal line, degrees."
    )
    touch_weight: float = Field(25.0, ge=0, le=1000, description="Score per touch.")
    flatness_weight: float = Field(
        15.0, ge=0, le=1000, description="Horizontal score weight of (90 - |angle|) / 90."
    )
    steepness_weight: float = Field(
        15.0, ge=0, le=1000, description="Diagonal score weight of 1.0 (30-45 deg), 0.8 (20-30), 0.5 (below)."
    )
    alternation_weight: float = Field(
        20.0, ge=0, le=1000, description="Diagonal score weight of type changes / (touches - 1)."
    )
    length_weight: float = Field(10.0, ge=0, le=1000, description="Score weight of min(span / lookback, 1).")
    proximity_weight: float = Field(
        50.0, ge=0, le=1000, description="Score weight of the proximity factor (newest close to the line)."
    )
    proximity_bands: tuple[float, ...] = Field(
        (0.05, 0.1, 0.25, 0.5, 1.0, 2.0),
        min_length=1,
        max_length=20,
        description="Upper bounds, in % of the newest close, of the distance bands (increasing).",
    )
    proximity_factors: tuple[float, ...] = Field(
        (1.0, 0.93, 0.8, 0.6, 0.4, 0.2),
        min_length=1,
        max_length=20,
        description="Proximity factor of each band; a distance beyond the last band scores 0.",
    )
    lines_per_kind: int = Field(
        3, ge=1, le=10, description="Lines kept per kind (peak, bottom, ascending, descending)."
    )

    @field_validator("window")
    @classmethod
    def _window_is_odd(cls, window: int) -> int:
        if window % 2 == 0:
            raise ValueError("window must be odd (the same number of bars on each side)")
        return window

    @property
    def side(self) -> int:
        """S: the bars on each side of a fractal."""
        return (self.window - 1) // 2

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.lookback // (self.side + 1) > MAX_FRACTALS_PER_TYPE:
            raise ValueError(
                f"lookback / ((window + 1) / 2) must be at most {MAX_FRACTALS_PER_TYPE}: "
                f"lookback {self.lookback} is too long for window {self.window}"
            )
        if self.diagonal_min_angle > self.diagonal_max_angle:
            raise ValueError("diagonal_min_angle must not exceed diagonal_max_angle")
        if len(self.proximity_bands) != len(self.proximity_factors):
            raise ValueError("proximity_bands and proximity_factors must have the same length")
        if any(b <= 0 for b in self.proximity_bands) or any(
            later <= earlier
            for earlier, later in zip(self.proximity_bands, self.proximity_bands[1:], strict=False)
        ):
            raise ValueError("proximity_bands must be positive and strictly increasing")
        if any(not 0 <= f <= 1 for f in self.proximity_factors):
            raise ValueError("proximity_factors must lie in 0..1")
        if self.diagonal_min_touches < 2 * self.diagonal_min_per_type:
            raise ValueError("diagonal_min_touches must be at least 2 x diagonal_min_per_type")
        return self


def minimum_history(params: OverlayParams) -> int:
    """Bars to fetch so that every fractal and line in the lookback is decided: lookback + window + ATR period."""
    return params.lookback + params.window + params.atr_period


def parse_overlay_params(query: Mapping[str, str | list[str]]) -> OverlayParams:
    """Build ``OverlayParams`` from query options (unknown names refused); raise ``BadRequest`` on a bad value.

    A tuple option (``proximity_bands``, ``proximity_factors``) is a comma-separated list or a repeated key.
    """
    values: dict[str, object] = {}
    for name, raw in query.items():
        if name in ("proximity_bands", "proximity_factors"):
            parts = raw if isinstance(raw, list) else raw.split(",")
            values[name] = tuple(part.strip() for part in parts)
        else:
            values[name] = raw[-1] if isinstance(raw, list) else raw
    try:
        return OverlayParams.model_validate(values)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "parameters"
        message = first["msg"].removeprefix("Value error, ")
        raise BadRequest(f"Invalid indicator parameter {field}: {message}", field=field) from exc
