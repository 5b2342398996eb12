"""Warm the fork server: import every SDK class the substrates' modules use.

Provider SDKs load each resource class lazily, and a class's module pulls in large input/output
type modules; doing that in every forked render would cost most of a second per stage. The fork
server imports this module once (see ``render.PRELOAD``), so each stage's process starts with the
classes already loaded, while still getting a fresh Pulumi runtime.

Which substrates to warm comes from ``STAGELINE_WARM`` (comma-separated, default ``aws``).
"""

from __future__ import annotations

import ast
import importlib
import inspect
import os
import sys
import typing
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

COMPONENTS = Path(__file__).resolve().parent.parent / "components"
SDK_PREFIXES = ("pulumi_",)


def _sdk_aliases(tree: ast.Module) -> dict[str, str]:
    """Local names bound to SDK modules: ``import pulumi_aws as aws`` -> {aws: pulumi_aws}."""
    aliases: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for name in node.names:
                if name.name.startswith(SDK_PREFIXES):
                    aliases[name.asname or name.name] = name.name
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith(SDK_PREFIXES):
            for name in node.names:
                aliases[name.asname or name.name] = f"{node.module}.{name.name}"
    return aliases


def _chains(tree: ast.Module, roots: set[str]) -> set[tuple[str, ...]]:
    found: set[tuple[str, ...]] = set()
    for node in ast.walk(tree):
        parts: list[str] = []
        current: Any = node
        while isinstance(current, ast.Attribute):
            parts.append(current.attr)
            current = current.value
        if isinstance(current, ast.Name) and current.id in roots and parts:
            found.add((current.id, *reversed(parts)))
    return found


def _resolve(module_path: str, attrs: tuple[str, ...]) -> Any:
    """The SDK attribute a chain names, loaded; None when it is no module attribute."""
    head, _, rest = module_path.partition(".")
    target: Any = importlib.import_module(head)
    for part in [*(rest.split(".") if rest else []), *attrs]:
        try:
            target = getattr(target, part)
        except AttributeError:
            return None  # not a module attribute (e.g. a method of an instance): nothing to load
    return target


def _leaves(hint: Any) -> Iterator[Any]:
    """The classes inside a type hint (``list[X]``, ``Mapping[str, X]``, unions)."""
    args = typing.get_args(hint)
    if not args:
        yield hint
    for arg in args:
        yield from _leaves(arg)


def _hint_types(classes: Iterable[Any]) -> None:
    """Resolve the type hints of these SDK classes, and of the input and output types they
    hold, into Pulumi's own caches (``pulumi._types``, ``functools.cache``).

    Registering a resource resolves its class's properties with ``typing.get_type_hints`` (to
    serialize the inputs and to translate the outputs): about a quarter of a stage's render,
    paid again in every stage's process. Resolved here, in the fork server, every stage inherits
    the answers. A class none of this reaches is only resolved later, by the render, as before.
    """
    from pulumi import Resource, _types

    pending: list[Any] = list(classes)
    done: set[type] = set()
    while pending:
        cls = pending.pop()
        if cls in done or not inspect.isclass(cls):
            continue
        done.add(cls)
        if issubclass(cls, Resource):
            hints = _types.resource_types(cls)
            # Its inputs: the ``<Name>Args`` class the SDK generates beside it.
            pending.append(getattr(sys.modules[cls.__module__], f"{cls.__name__}Args", None))
        elif _types.is_input_type(cls):
            hints = _types.input_type_types(cls)
        elif _types.is_output_type(cls):
            hints = _types.output_type_types(cls)
        else:
            continue
        pending += [leaf for hint in hints.values() for leaf in _leaves(hint)]


def warm(substrate: str) -> None:
    """Load every SDK attribute that ``components/<substrate>`` names, with its type hints."""
    named = []
    for path in sorted((COMPONENTS / substrate).glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        aliases = _sdk_aliases(tree)
        for root, *attrs in _chains(tree, set(aliases)):
            named.append(_resolve(aliases[root], tuple(attrs)))
        importlib.import_module(f"components.{substrate}.{path.stem}".removesuffix(".__init__"))
    _hint_types(named)


for _substrate in filter(None, os.environ.get("STAGELINE_WARM", "aws").split(",")):
    if (COMPONENTS / _substrate).is_dir():
        warm(_substrate)
