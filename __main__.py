"""stageline: build this stack's environment from the blueprint and export its outputs."""

import pulumi

from components.environment import Environment
from components.spec.runtime import current_spec

spec = current_spec()
environment = Environment(pulumi.get_stack(), spec)
for key, value in environment.outputs().items():
    pulumi.export(key, value)
