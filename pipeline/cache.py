"""A content-addressed cache of stage renders, so an unchanged stage is not rendered again.

The key is a hash of everything a render depends on: the program's source files (the project's
``__main__.py``, ``Pulumi.yaml`` and ``blueprint.yaml``, ``components/``, and the renderer and
its mocks), the
stack's config as the program receives it, the pipeline file, and the installed SDK versions.
Entries live under ``.stageline/cache`` (safe to delete, and to keep as a CI cache: a key can
only ever name one render). A render that failed is never stored.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Iterable
from importlib import metadata
from pathlib import Path
from typing import Any

from components.spec.stackfile import StackConfig
from pipeline.early import SOURCES, Seen, source_digest
from pipeline.render import StageRender

__all__ = ["SOURCES", "PolicyCache", "RenderCache", "source_digest"]

SDKS = (
    "pulumi",
    "pulumi-aws",
    "pulumi-azure-native",
    "pulumi-docker",
    "pulumi-random",
    "pulumi-tls",
    "pydantic",
)
VERSION = "1"  # bump when the stored form of a render changes


def _sdk_versions() -> dict[str, str]:
    out = {}
    for name in SDKS:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "absent"
    return out


class RenderCache:
    """Renders by key under ``directory``; ``key(config)`` for one stack of this project."""

    def __init__(self, directory: Path, project_dir: Path, pipeline_file: Path) -> None:
        self.directory = directory
        pipeline = pipeline_file.read_bytes() if pipeline_file.exists() else b""
        sources = source_digest(project_dir)
        self.seen = Seen(directory, sources, pipeline_file)
        """Which stack files' bytes are stored (``python -m pipeline`` reads it to decide, before
        anything is parsed, whether to start the fork server at once)."""
        self._base = json.dumps(
            {
                "version": VERSION,
                "sources": sources,
                "pipeline": hashlib.sha256(pipeline).hexdigest(),
                "sdks": _sdk_versions(),
            },
            sort_keys=True,
        )
        self.hits: list[str] = []

    def key(self, config: StackConfig) -> str:
        stack = json.dumps(
            {
                "stack": config.stack,
                "source": config.source,
                "config": config.values,
                "secrets": sorted(config.secret_keys),
            },
            sort_keys=True,
            default=str,
        )
        return hashlib.sha256(f"{self._base}\n{stack}".encode()).hexdigest()

    def _path(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.json"

    def has(self, config: StackConfig) -> bool:
        """Whether a render of ``config`` is stored (without reading it)."""
        return self._path(self.key(config)).is_file()

    def get(self, config: StackConfig) -> StageRender | None:
        try:
            data = json.loads(self._path(self.key(config)).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return StageRender.from_json(data)

    def put(self, config: StackConfig, render: StageRender) -> None:
        if render.error:
            return
        path = self._path(self.key(config))
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written whole or not at all: two plans at once never read half an entry.
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(render.to_json(), handle)
        os.replace(temporary, path)
        self.seen.mark(Path(config.source))

    def render(
        self,
        configs: Iterable[StackConfig],
        render_all: Callable[
            [list[StackConfig], Callable[[StageRender], None]], dict[str, StageRender]
        ],
        done: Callable[[str], None] | None = None,
        ready: Callable[[StageRender], None] | None = None,
    ) -> dict[str, StageRender]:
        """Cached renders where there are any; ``render_all(missing, stored)`` for the rest,
        which calls ``stored(render)`` as each one finishes, so it is kept while the others
        render. ``done(stack)`` for a hit (progress); ``ready(render)`` for every stage, hit or
        fresh, as soon as it is at hand."""
        configs = list(configs)
        by_stack = {c.stack: c for c in configs}
        found: dict[str, StageRender] = {}
        for config in configs:
            hit = self.get(config)
            if hit is not None:
                found[config.stack] = hit
                self.hits.append(config.stack)
                self.seen.mark(Path(config.source))  # a cache filled before the markers
                if done is not None:
                    done(config.stack)
                if ready is not None:
                    ready(hit)
        missing = [c for c in configs if c.stack not in found]

        def stored(render: StageRender) -> None:
            self.put(by_stack[render.stack], render)
            if ready is not None:
                ready(render)

        fresh = render_all(missing, stored) if missing else {}
        return {c.stack: found.get(c.stack) or fresh[c.stack] for c in configs}


# What a stage's policy result depends on beyond its render: the pack and the harness.
POLICY_SOURCES = ("policies", "pipeline/policy")
POLICY_SUFFIXES = (".py", ".yaml", ".json")


class PolicyCache:
    """A stage's policy findings and compliance summary, by its render's key and the content
    of the pack (rules, analyzer, PulumiPolicy.yaml, config/<stage>.json) and the harness, so
    a plan whose stages and pack are unchanged never starts the pack."""

    def __init__(self, renders: RenderCache, project_dir: Path) -> None:
        self.renders = renders
        digest = hashlib.sha256(renders._base.encode())
        for entry in POLICY_SOURCES:
            for path in sorted((project_dir / entry).rglob("*")):
                if path.is_file() and path.suffix in POLICY_SUFFIXES:
                    digest.update(str(path.relative_to(project_dir)).encode() + b"\0")
                    digest.update(path.read_bytes() + b"\0")
        try:
            digest.update(metadata.version("pulumi-policy").encode())
        except metadata.PackageNotFoundError:
            digest.update(b"absent")
        self._pack = digest.hexdigest()

    def _path(self, config: StackConfig) -> Path:
        key = hashlib.sha256(f"{self._pack}\n{self.renders.key(config)}".encode()).hexdigest()
        return self.renders.directory / "policy" / f"{key}.json"

    def has(self, config: StackConfig) -> bool:
        return self._path(config).is_file()

    def get(self, config: StackConfig) -> dict[str, Any] | None:
        """``{"findings": [...], "summary": {...}}`` as stored, or None."""
        try:
            data = json.loads(self._path(config).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) and {"findings", "summary"} <= set(data) else None

    def put(self, config: StackConfig, findings: list[Any], summary: dict[str, Any]) -> None:
        path = self._path(config)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump({"findings": findings, "summary": summary}, handle)
        os.replace(temporary, path)
