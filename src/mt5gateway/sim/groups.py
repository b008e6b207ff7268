"""The ``group=`` filter of ``symbols_get``, ``orders_get``, ``positions_get`` and the history calls.

MT5 takes a comma-separated list of masks in which ``*`` matches any run of characters and a leading
``!`` excludes: ``"*USD*,!EUR*"`` is every symbol containing USD except those starting with EUR.
A name is kept when it matches at least one inclusion and no exclusion, whatever the masks' order.
Matching ignores case, as symbol names do in the terminal.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

__all__ = ["group_matcher", "matches_group"]


def _mask_pattern(mask: str) -> str:
    # Only "*" is a wildcard in MT5 masks; every other character is literal.
    return ".*".join(re.escape(part) for part in mask.split("*"))


@lru_cache(maxsize=256)
def group_matcher(group: str) -> Callable[[str], bool]:
    """A predicate telling whether a symbol name belongs to ``group``."""
    includes: list[str] = []
    excludes: list[str] = []
    for raw in group.split(","):
        mask = raw.strip()
        if mask.startswith("!"):
            if mask[1:]:
                excludes.append(_mask_pattern(mask[1:]))
        elif mask:
            includes.append(_mask_pattern(mask))
    if not includes:
        return lambda name: False
    include_re = re.compile("|".join(includes), re.IGNORECASE)
    exclude_re = re.compile("|".join(excludes), re.IGNORECASE) if excludes else None

    def matches(name: str) -> bool:
        if include_re.fullmatch(name) is None:
            return False
        return exclude_re is None or exclude_re.fullmatch(name) is None

    return matches


def matches_group(name: str, group: str) -> bool:
    """Whether ``name`` belongs to ``group`` (see the module docstring for the mask rules)."""
    return group_matcher(group)(name)
