"""Which resource properties each scale or identity key drives.

The parity check reads these tables: a property that differs between stages is *allowed* only
if a binding says a scale key the pipeline lets those stages set (or the stage's identity)
drives it. Everything else that differs is a shape difference: a violation. Each substrate
declares its own table next to its roles, in the engine's terms (type token, camelCase path).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache


@cache
def _glob(pattern: str) -> re.Pattern[str]:
    """``*`` matches anything; every other character (brackets included) is literal."""
    return re.compile("^" + ".*".join(re.escape(p) for p in pattern.split("*")) + "$")


def glob_match(value: str, pattern: str) -> bool:
    return _glob(pattern).match(value) is not None


@dataclass(frozen=True)
class Binding:
    type: str
    """Type token (glob)."""
    path: str
    """Flattened property path (glob), ``options.<name>`` for a resource option, or ``exists``."""
    source: str
    """``scale:<key>`` (a key of <project>:scale) or ``identity:<field>``."""

    def matches(self, type_token: str, path: str) -> bool:
        return glob_match(type_token, self.type) and glob_match(path, self.path)


# Tags every substrate applies; they name the stage, so they differ by design.
IDENTITY_TAGS = (
    Binding("*", "tags.stage", "identity:stage"),
    Binding("*", "tags.owner", "identity:owner"),
    Binding("*", "tags.cost-center", "identity:costCenter"),
)


def binding_for(table: tuple[Binding, ...], type_token: str, path: str) -> Binding | None:
    return next((b for b in table if b.matches(type_token, path)), None)
