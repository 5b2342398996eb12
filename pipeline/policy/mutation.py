"""The mutation catalog (policies/mutations/<substrate>.yaml): security changes to a rendered
stage, each from a benchmark control or a Checkov check, and how one is applied to a graph.

A mutation is a list of changes to the resources of a stage's offline render (and optionally to
its stack config). A change targets every resource of a type whose name contains ``name`` and
sets, appends or removes inputs by path, drops the resource with everything under it (a whole
component), or first copies it (a rule split across resources). Paths are dotted keys; ``*``
is every element of a list, a digit one element, ``[key=value]`` the elements of a list of
objects whose ``key`` is ``value``, ``[=value]`` the string elements equal to ``value``.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from components.spec.bounded import read_yaml
from components.spec.loader import PROJECT, SpecError

Resource = dict[str, Any]
_SELECTOR = re.compile(r"^(?P<key>[^\[]*)\[(?P<field>[^=\]]*)=(?P<value>[^\]]*)\]$")


class MutationError(Exception):
    """A catalog file that cannot be read or applied; names the file and the key."""


class Change(BaseModel):
    """One change to the resources of one type (all of those whose name contains ``name``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    type: str
    """A type token (``{project}`` is the project's name) or a short name from ``types``."""
    name: str = ""
    documents: list[str] = Field(default_factory=list)
    """Inputs that hold a JSON document as a string (an IAM policy, ECS container
    definitions): decoded before the paths apply, encoded again after."""
    copy_as: str | None = None
    """Add a copy named ``<name>-<copy_as>`` and change the copy, not the original."""
    set: dict[str, Any] = Field(default_factory=dict)
    append: dict[str, Any] = Field(default_factory=dict)
    remove: list[str] = Field(default_factory=list)
    replace: dict[str, tuple[str, str]] = Field(default_factory=dict)
    """path -> (old, new): a substring of a string input replaced (a Caddyfile directive)."""
    drop: bool = False
    """Remove the resource and every resource under it (its children, their children...)."""
    options: dict[str, Any] = Field(default_factory=dict)
    """Resource options to set (``protect: false``)."""


class Addition(BaseModel):
    """A resource the mutation adds, named ``<stack>-<name>``, under the component ``parent``
    (a name substring; the stage's root component when empty)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    type: str
    name: str
    inputs: dict[str, Any]
    parent: str = ""


class Mutation(BaseModel):
    """A security weakening of one stage, where it comes from, and the rules meant to catch it."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    what: str
    source: list[str] = Field(min_length=1)
    """Benchmark controls and checks: ``CIS Azure 3.0.0 4.1.1``, ``Checkov CKV_AZURE_35``."""
    rules: list[str] = Field(min_length=1)
    """The pack's rules expected to catch it with a mandatory finding (any one suffices)."""
    changes: list[Change] = Field(default_factory=list)
    adds: list[Addition] = Field(default_factory=list)
    config: dict[str, str | None] = Field(default_factory=dict)
    """Stack config to set (None: remove); ``{project}`` in a key is the project's name."""
    accepted: str | None = None
    """Why a miss is accepted; a mutation with a reason is reported, not failed."""


class Catalog(BaseModel):
    """One file: the stack whose render is mutated and its mutations."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    stack: str
    substrate: str
    types: dict[str, str] = Field(default_factory=dict)
    """Short names for type tokens, usable as a change's or an addition's ``type``."""
    mutations: list[Mutation] = Field(min_length=1)


def load_catalog(path: Path) -> Catalog:
    """A catalog file, validated; ids unique within it."""
    try:
        catalog = Catalog.model_validate(read_yaml(path, "mutations"))
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(p) for p in first["loc"])
        raise MutationError(f"{path}: {key}: {first['msg']}") from None
    except SpecError as exc:
        raise MutationError(str(exc)) from None
    seen: set[str] = set()
    for index, mutation in enumerate(catalog.mutations):
        if mutation.id in seen:
            raise MutationError(f"{path}: mutations.{index}.id: {mutation.id!r} is used twice")
        seen.add(mutation.id)
    return catalog


def load_catalogs(directory: Path) -> list[Catalog]:
    files = sorted(directory.glob("*.yaml"))
    if not files:
        raise MutationError(f"{directory}: no mutation catalog (*.yaml)")
    return [load_catalog(f) for f in files]


def _nodes(node: Any, segment: str, create: bool) -> Iterator[Any]:
    """The values one path segment leads to from ``node``."""
    selected = _SELECTOR.match(segment)
    if selected:
        base = list(_nodes(node, selected["key"], create)) if selected["key"] else [node]
        for items in base:
            for item in items if isinstance(items, list) else []:
                field, value = selected["field"], selected["value"]
                if (not field and item == value) or (
                    field and isinstance(item, dict) and str(item.get(field)) == value
                ):
                    yield item
    elif segment == "*":
        yield from node if isinstance(node, list) else []
    elif isinstance(node, list) and segment.isdigit():
        if int(segment) < len(node):
            yield node[int(segment)]
    elif isinstance(node, dict):
        if segment not in node and create:
            node[segment] = {}
        if segment in node:
            yield node[segment]


_DOT = re.compile(r"\.(?![^\[]*\])")  # a dot outside a [selector]


def _parents(inputs: Resource, path: str, create: bool) -> tuple[list[Any], str]:
    *walk, leaf = _DOT.split(path)
    nodes: list[Any] = [inputs]
    for segment in walk:
        nodes = [found for node in nodes for found in _nodes(node, segment, create)]
    return nodes, leaf


def _matches(item: Any, field: str, value: str) -> bool:
    if not field:
        return bool(item == value)
    return isinstance(item, dict) and str(item.get(field)) == value


def _set(inputs: Resource, path: str, value: Any) -> int:
    nodes, leaf = _parents(inputs, path, create=True)
    selected = _SELECTOR.match(leaf)
    count = 0
    for node in nodes:
        if selected:
            # Replace the selected elements of a list (``envs[=PGSSLMODE=verify-full]``).
            items = node.get(selected["key"]) if isinstance(node, dict) else node
            if not isinstance(items, list):
                continue
            for index, item in enumerate(items):
                if _matches(item, selected["field"], selected["value"]):
                    items[index] = copy.deepcopy(value)
                    count += 1
        elif isinstance(node, list) and leaf.isdigit():
            if int(leaf) < len(node):
                node[int(leaf)] = copy.deepcopy(value)
                count += 1
        elif isinstance(node, dict):
            node[leaf] = copy.deepcopy(value)
            count += 1
    return count


def _append(inputs: Resource, path: str, value: Any) -> int:
    nodes, leaf = _parents(inputs, path, create=True)
    for node in nodes:
        target = node.setdefault(leaf, [])
        target.append(copy.deepcopy(value))
    return len(nodes)


def _remove(inputs: Resource, path: str) -> int:
    nodes, leaf = _parents(inputs, path, create=False)
    removed = 0
    selected = _SELECTOR.match(leaf)
    for node in nodes:
        if selected:
            # Elements of a list: the selector without its key picks them from the list itself.
            holders = list(_nodes(node, selected["key"], False)) if selected["key"] else [node]
            element = leaf[len(selected["key"]) :]
            for items in holders:
                doomed = {id(i) for i in _nodes(items, element, False)}
                if isinstance(items, list) and doomed:
                    items[:] = [i for i in items if id(i) not in doomed]
                    removed += len(doomed)
        elif isinstance(node, dict) and leaf in node:
            del node[leaf]
            removed += 1
    return removed


def _replace(inputs: Resource, path: str, old: str, new: str) -> int:
    nodes, leaf = _parents(inputs, path, create=False)
    changed = 0
    for node in nodes:
        if isinstance(node, list) and leaf.isdigit() and int(leaf) < len(node):
            value = node[int(leaf)]
            if isinstance(value, str) and old in value:
                node[int(leaf)] = value.replace(old, new)
                changed += 1
        elif isinstance(node, dict) and isinstance(node.get(leaf), str) and old in node[leaf]:
            node[leaf] = node[leaf].replace(old, new)
            changed += 1
    return changed


def _descendants(resources: list[Resource], urns: set[str]) -> set[str]:
    """``urns`` and every resource whose parent chain reaches one of them."""
    found = set(urns)
    grew = True
    while grew:
        more = {r["urn"] for r in resources if r.get("parent") in found} - found
        found |= more
        grew = bool(more)
    return found


def _copy(resource: Resource, suffix: str) -> Resource:
    twin = copy.deepcopy(resource)
    twin["name"] = f"{resource['name']}-{suffix}"
    twin["urn"] = f"{resource['urn']}-{suffix}"
    return twin


def apply_change(resources: list[Resource], change: Change, token: str) -> str | None:
    """Apply one change to the resources of type ``token`` in place; why it could not be
    applied, or None."""
    targets = [r for r in resources if r["type"] == token and change.name in r["name"]]
    if not targets:
        return f"no {token} named *{change.name}*"
    if change.drop:
        doomed = _descendants(resources, {r["urn"] for r in targets})
        resources[:] = [r for r in resources if r["urn"] not in doomed]
        return None
    if change.copy_as:
        targets = [_copy(r, change.copy_as) for r in targets]
        resources.extend(targets)
    applied: dict[str, int] = {}
    for target in targets:
        target.setdefault("options", {}).update(change.options)
        inputs = target.setdefault("inputs", {})
        for key in change.documents:
            if isinstance(inputs.get(key), str):
                inputs[key] = json.loads(inputs[key])
        for path, value in change.set.items():
            # ``{project}`` in a path selector is the project's name (paths under /run/NAME).
            selected = path.replace("{project}", PROJECT)
            applied[path] = applied.get(path, 0) + _set(inputs, selected, value)
        for path, value in change.append.items():
            applied[path] = applied.get(path, 0) + _append(inputs, path, value)
        for path in change.remove:
            applied[path] = applied.get(path, 0) + _remove(inputs, path)
        for path, (old, new) in change.replace.items():
            applied[path] = applied.get(path, 0) + _replace(inputs, path, old, new)
        for key in change.documents:
            if key in inputs and not isinstance(inputs[key], str):
                inputs[key] = json.dumps(inputs[key])
    # Every path must change something in at least one of the targets (a mutation that no
    # longer finds what it weakens would pass for caught-nothing otherwise).
    missing = [path for path, count in applied.items() if not count]
    return f"*{change.name}*: nothing at {', '.join(missing)}" if missing else None


def _add(resources: list[Resource], stack: str, addition: Addition, token: str) -> str | None:
    parents = [
        r
        for r in resources
        if not r["custom"]
        and (addition.parent in r["name"] if addition.parent else not r["parent"])
    ]
    if not parents:
        return f"no component named *{addition.parent}* to add {addition.name} under"
    parent = parents[0]
    chain = parent["urn"].split("::")[2]  # the parent's own type chain, then this type
    urn = "::".join(
        [*parent["urn"].split("::")[:2], f"{chain}${token}", f"{stack}-{addition.name}"]
    )
    resources.append(
        {
            "urn": urn,
            "type": token,
            "name": f"{stack}-{addition.name}",
            "parent": parent["urn"],
            "custom": True,
            "inputs": copy.deepcopy(addition.inputs),
            "options": {},
        }
    )
    return None


def apply(
    catalog: Catalog, mutation: Mutation, resources: list[Resource], config: dict[str, str]
) -> tuple[list[Resource], dict[str, str], str | None]:
    """The mutated copies of a stage's resources and config, and why it failed to apply."""
    resources, config = copy.deepcopy(resources), dict(config)
    for change in mutation.changes:
        token = catalog.types.get(change.type, change.type).replace("{project}", PROJECT)
        problem = apply_change(resources, change, token)
        if problem:
            return resources, config, problem
    for addition in mutation.adds:
        token = catalog.types.get(addition.type, addition.type).replace("{project}", PROJECT)
        problem = _add(resources, catalog.stack, addition, token)
        if problem:
            return resources, config, problem
    for key, value in mutation.config.items():
        key = key.replace("{project}", PROJECT)
        if value is None:
            config.pop(key, None)
        else:
            config[key] = value
    return resources, config, None
