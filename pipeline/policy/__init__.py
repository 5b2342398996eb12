"""The policy harness: run policies/ as the engine does and check rendered stages over gRPC.

The names are loaded on first use (PEP 562): the harness imports gRPC and the Pulumi protocol,
which a command that only registers its options (``policies``, or ``diff`` importing this
package's config module) should not pay for.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pipeline.policy.config import PolicyConfigError, StageConfig
    from pipeline.policy.harness import Diagnostic, PolicyHarness, StageCompliance
    from pipeline.policy.process import PolicyPackError
    from pipeline.policy.wire import StageGraph

_HOMES = {
    "Diagnostic": "pipeline.policy.harness",
    "PolicyConfigError": "pipeline.policy.config",
    "PolicyHarness": "pipeline.policy.harness",
    "PolicyPackError": "pipeline.policy.process",
    "StageCompliance": "pipeline.policy.harness",
    "StageConfig": "pipeline.policy.config",
    "StageGraph": "pipeline.policy.wire",
}
__all__ = [
    "Diagnostic",
    "PolicyConfigError",
    "PolicyHarness",
    "PolicyPackError",
    "StageCompliance",
    "StageConfig",
    "StageGraph",
]


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_HOMES[name]), name)
