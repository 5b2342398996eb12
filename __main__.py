"""stageline: build this stack's environment from the blueprint and export its outputs."""

import pulumi

from components.environment import Environment
from components.spec.runtime import current_spec
from pipeline.stages import hold_to_pipeline

spec = current_spec()
# The pipeline file binds this stack to its stage and scale keys: `plan` checks that, and so does
# the program, for a `pulumi up` run by hand.
hold_to_pipeline()
environment = Environment(pulumi.get_stack(), spec)
for key, value in environment.outputs().items():
    pulumi.export(key, value)
