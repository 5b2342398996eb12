"""The policy harness: run policies/ as the engine does and check rendered stages over gRPC."""

from pipeline.policy.config import PolicyConfigError, StageConfig
from pipeline.policy.harness import Diagnostic, PolicyHarness, StageCompliance
from pipeline.policy.process import PolicyPackError
from pipeline.policy.wire import StageGraph

__all__ = [
    "Diagnostic",
    "PolicyConfigError",
    "PolicyHarness",
    "PolicyPackError",
    "StageCompliance",
    "StageConfig",
    "StageGraph",
]
