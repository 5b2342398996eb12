"""Read stack, pipeline and policy files with bounds, before anything walks what they hold.

A stack file arrives in a pull request, possibly a fork's, and ``plan`` and ``diff`` read it
without credentials on a shared runner. So every file is refused, with a :class:`SpecError`
naming the file and key, unless it is

- a regular file of at most :data:`MAX_FILE_BYTES`, UTF-8 encoded;
- free of YAML aliases: a 444-byte "billion laughs" document expands to gigabytes in every
  walk after parsing (the loader, ``json.dumps``, diff's masker), so aliases are refused as
  they are met, before anything is expanded;
- nested at most :data:`MAX_DEPTH` deep, with at most :data:`MAX_ITEMS` entries per mapping or
  list (a stack file needs a handful of each);
- free of duplicate keys: the Pulumi CLI's YAML parser (go-yaml v3) refuses them with
  ``mapping key "x" already defined at line N``; PyYAML keeps the last silently, so the offline
  render would otherwise see a different stack than ``pulumi up``. JSON policy files are held
  to the same rule.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from components.spec.loader import Problem, SpecError

MAX_FILE_BYTES = 256 * 1024
"""The shipped stack files are about 1 KiB; a quarter MiB leaves room and bounds every walk."""
MAX_DEPTH = 32
MAX_ITEMS = 1000


class _RefusedError(Exception):
    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key
        self.message = message


def _dotted(path: list[str | None], shown: int = 6) -> str:
    """The key path in the document, cut after ``shown`` parts (a deep path is unreadable)."""
    parts = [p for p in path if p is not None]
    return ".".join(parts[:shown]) + (".…" if len(parts) > shown else "")


class _BoundedLoader(yaml.SafeLoader):
    """PyYAML's safe loader, with aliases, depth, breadth and duplicate keys checked as composed."""

    def __init__(self, stream: str, root: str) -> None:
        super().__init__(stream)
        self._path: list[str | None] = []
        self._root = root

    def _key(self) -> str:
        return _dotted(self._path) or self._root

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        if isinstance(index, yaml.ScalarNode):
            segment: str | None = str(index.value)
        elif isinstance(index, int):
            segment = str(index)
        else:
            segment = None  # the document root, or a mapping key being composed
        if len(self._path) >= MAX_DEPTH:
            raise _RefusedError(self._key(), f"nested deeper than {MAX_DEPTH} levels")
        self._path.append(segment)
        try:
            if self.check_event(yaml.AliasEvent):
                event = self.peek_event()  # type: ignore[no-untyped-call]
                raise _RefusedError(
                    self._key(),
                    f"YAML alias *{event.anchor} at line {event.start_mark.line + 1}: aliases are "
                    "not accepted (write the value out)",
                )
            node = super().compose_node(parent, index)
            self._check(node)
        finally:
            self._path.pop()
        return node

    def _check(self, node: yaml.Node | None) -> None:
        if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)) and len(node.value) > MAX_ITEMS:
            raise _RefusedError(self._key(), f"more than {MAX_ITEMS} entries ({len(node.value)})")
        if isinstance(node, yaml.MappingNode):
            seen: dict[str, int] = {}
            for key, _ in node.value:
                if not isinstance(key, yaml.ScalarNode):
                    continue
                line = key.start_mark.line + 1
                if key.value in seen:
                    where = _dotted([*self._path, key.value])
                    raise _RefusedError(
                        where,
                        f"duplicate key at line {line} (first at line {seen[key.value]}); "
                        "the Pulumi CLI refuses duplicate keys",
                    )
                seen[key.value] = line


def read_text(path: Path, key: str, source: str | None = None) -> str:
    """The file's text if it is a regular UTF-8 file within the size bound; else SpecError."""
    where = source or str(path)
    try:
        if path.is_dir():
            raise SpecError(where, [Problem(key, "expected a file, found a directory")])
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise SpecError(
                where, [Problem(key, f"file is {size} bytes; at most {MAX_FILE_BYTES} accepted")]
            )
        with path.open("rb") as handle:  # read at most the bound, even if the file grows
            data = handle.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise SpecError(where, [Problem(key, "file not found")]) from None
    except NotADirectoryError:
        raise SpecError(where, [Problem(key, f"{path.parent} is not a directory")]) from None
    except OSError as exc:
        raise SpecError(where, [Problem(key, f"cannot read: {exc.strerror}")]) from None
    if len(data) > MAX_FILE_BYTES:
        raise SpecError(where, [Problem(key, f"file is over {MAX_FILE_BYTES} bytes")])
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SpecError(
            where, [Problem(key, f"not UTF-8 text (byte {exc.start}: {data[exc.start]:#04x})")]
        ) from None


def parse_yaml(text: str, source: str, key: str) -> Any:
    """Parse YAML text within the bounds; SpecError names ``source`` and the offending key."""
    loader = _BoundedLoader(text, key)
    try:
        return loader.get_single_data()
    except _RefusedError as refusal:
        raise SpecError(source, [Problem(refusal.key, refusal.message)]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" at line {mark.line + 1}" if mark else ""
        raise SpecError(source, [Problem(key, f"not valid YAML{line}")]) from None
    except (ValueError, OverflowError) as exc:  # e.g. an integer past int_max_str_digits
        raise SpecError(source, [Problem(key, f"not a valid value: {exc}")]) from None
    finally:
        loader.dispose()


def read_yaml(path: Path, key: str, source: str | None = None) -> Any:
    """Read and parse a YAML file within every bound; SpecError names the file and key."""
    where = source or str(path)
    return parse_yaml(read_text(path, key, where), where, key)


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in pairs:
        if name in out:
            raise _RefusedError(name, "duplicate key")
        out[name] = value
    return out


def _json_bounds(value: Any, path: list[str | None]) -> None:
    if len(path) > MAX_DEPTH:
        raise _RefusedError(_dotted(path), f"nested deeper than {MAX_DEPTH} levels")
    if isinstance(value, (dict, list)) and len(value) > MAX_ITEMS:
        raise _RefusedError(_dotted(path), f"more than {MAX_ITEMS} entries ({len(value)})")
    items = (
        value.items()
        if isinstance(value, dict)
        else enumerate(value)
        if isinstance(value, list)
        else ()
    )
    for name, item in items:
        _json_bounds(item, [*path, str(name)])


def parse_json(text: str, source: str, key: str) -> Any:
    """Parse JSON text within the same bounds as YAML (depth, breadth, no duplicate keys)."""
    # Depth is checked on the text first: json.loads recurses once per level and would hit
    # the interpreter's recursion limit on a deeply nested document before any check ran.
    depth = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                raise SpecError(source, [Problem(key, f"nested deeper than {MAX_DEPTH} levels")])
        elif char in "]}":
            depth -= 1
    try:
        value = json.loads(text, object_pairs_hook=_no_duplicates)
        _json_bounds(value, [])
    except _RefusedError as refusal:
        raise SpecError(source, [Problem(refusal.key or key, refusal.message)]) from None
    except json.JSONDecodeError as exc:
        raise SpecError(source, [Problem(key, f"not valid JSON: {exc}")]) from None
    except (ValueError, OverflowError) as exc:
        raise SpecError(source, [Problem(key, f"not a valid value: {exc}")]) from None
    return value


def read_json(path: Path, key: str, source: str | None = None) -> Any:
    """Read and parse a JSON file within every bound; SpecError names the file and key."""
    where = source or str(path)
    return parse_json(read_text(path, key, where), where, key)


class _NoAliasDumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True


def dump_yaml(doc: Any) -> str:
    """YAML text that :func:`read_yaml` accepts: a value used twice is written out twice."""
    return yaml.dump(doc, Dumper=_NoAliasDumper, sort_keys=False, allow_unicode=True)
