"""stageline: build this stack's environment from the blueprint and export its outputs."""

import os
from pathlib import Path

import pulumi

from components.environment import Environment
from components.spec import SpecError
from components.spec.runtime import current_config, current_spec
from pipeline.stages import STACKS_DIR_ENV, program_problems

spec = current_spec()
# The pipeline file binds this stack to its stage and its scale keys; `plan` checks that, and so
# does the program, for a `pulumi up` run by hand.
try:
    problem = program_problems(
        Path(os.environ.get(STACKS_DIR_ENV, "stacks")), pulumi.get_stack(), current_config()
    )
except SpecError as exc:
    problem = exc
if problem is not None:
    raise pulumi.RunError(f"invalid stage configuration:\n{problem}")
environment = Environment(pulumi.get_stack(), spec)
for key, value in environment.outputs().items():
    pulumi.export(key, value)
