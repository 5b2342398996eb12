"""The plain substrate declares no resources, so only the identity tags could differ."""

from components.bindings import IDENTITY_TAGS, Binding

BINDINGS: tuple[Binding, ...] = IDENTITY_TAGS
