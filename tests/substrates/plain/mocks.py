"""No provider, nothing to answer."""

from typing import Any

RESOURCES: dict[str, Any] = {}
CALLS: dict[str, Any] = {}
