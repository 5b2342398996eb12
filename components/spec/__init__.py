"""The stage spec: typed configuration of one environment (shape, scale, identity)."""

from components.spec.loader import Problem, SpecError, load_spec
from components.spec.model import Identity, Release, Scale, Shape, StageSpec
from components.spec.stackfile import StackConfig, read_stack

__all__ = [
    "Identity",
    "Problem",
    "Release",
    "Scale",
    "Shape",
    "SpecError",
    "StackConfig",
    "StageSpec",
    "load_spec",
    "read_stack",
]
