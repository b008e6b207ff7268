"""The research service's settings: the ``[api.research]`` table of a gateway's config."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ResearchSettings"]


class ResearchSettings(BaseModel):
    """Backtest jobs: how many run at once, and where registered strategy files live."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    workers: int = Field(
        default=2, ge=1, le=64, description="backtest jobs running at once, one process each"
    )
    strategies_dir: Path | None = Field(
        default=None,
        description="folder of registered strategy files (file:NAME.py[:CLASS]); none by default",
    )
