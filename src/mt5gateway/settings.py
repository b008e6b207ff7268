"""Settings read from one table of a TOML file, with the environment winning over the file.

Each component (``[api]``, ``[sync]``, ...) subclasses ``TableSettings``, names its table and its
environment prefix, and loads with ``load(path, **overrides)``; a deployment overrides any field
without editing the file (``MT5GW_API_PORT=9000``, nested fields with ``__``).
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, ClassVar, Self

from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

__all__ = ["TableSettings"]


class TableSettings(BaseSettings):
    """Base of a component's settings: the ``toml_table`` of a file, then overrides, then env."""

    toml_table: ClassVar[str]

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The file's values arrive as init values; the environment is listed first, so it wins.
        return env_settings, init_settings

    @classmethod
    def load(cls, path: Path | None = None, **overrides: Any) -> Self:
        """The class's table of the TOML file at ``path`` (none: defaults), then ``overrides``, then env."""
        values: dict[str, Any] = {}
        if path is not None:
            with path.open("rb") as file:
                values = dict(tomllib.load(file).get(cls.toml_table, {}))
        values.update(overrides)
        return cls(**values)
