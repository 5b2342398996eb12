"""The steps of a stage, one module each, run by pipeline.promote.runner in the order of
``STEPS``.

Adding a step is one module with a class that follows ``step.Step`` (name, on_failure,
resume, start, run) plus one line in ``STEPS``; nothing registers itself on import. A failed
update or verification rolls the stage back (``rollback``), by the same steps.
"""

from __future__ import annotations

from pipeline.promote.steps.copy_images import CopyImages
from pipeline.promote.steps.gate import Gate
from pipeline.promote.steps.preview import Preview
from pipeline.promote.steps.set_images import SetImages
from pipeline.promote.steps.step import (
    FailureAction,
    OnFailure,
    Services,
    StageContext,
    Step,
    StepResult,
)
from pipeline.promote.steps.up import Up
from pipeline.promote.steps.verify import Verify

STEPS: tuple[Step, ...] = (
    SetImages(),
    CopyImages(),
    Preview(),
    Gate(),
    Up(),
    Verify(),
)

__all__ = [
    "STEPS",
    "FailureAction",
    "OnFailure",
    "Services",
    "StageContext",
    "Step",
    "StepResult",
]
