"""Start the render fork server the moment ``python -m pipeline plan`` begins.

The fork server's SDK imports are most of a cold plan, and nothing about them depends on the
stack files' content; starting them before the CLI imports its commands and validates the
stages takes that work (about a second on a loaded two-core machine) off the plan's critical
path. This module stays light (no pydantic, no Pulumi) so that it can run first.

Whether a plan will render at all is guessed from bytes, never from parsed input: with the render
cache, a stack file whose exact bytes were rendered and stored before (a marker under the
cache's ``seen/``, written by ``pipeline.cache``) needs no fork server. A wrong guess costs only
time: ``plan`` starts the fork server itself once it knows a stage misses.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import hashlib
import multiprocessing
import os
import re
import signal
from collections.abc import Sequence
from pathlib import Path

from pipeline import naming

PROJECT_DIR = Path(__file__).resolve().parent.parent
# Imported once in the fork server, so every stage process starts warm.
PRELOAD = ["pipeline.worker", "pulumi", "pydantic", "yaml", "pipeline.mocks", "pipeline.warm"]
# What a render runs, relative to the project: the program and the offline renderer.
SOURCES = (
    "__main__.py",
    "Pulumi.yaml",
    "blueprint.yaml",  # the shape every stage is built from
    "components",
    "pipeline/render.py",
    "pipeline/mocks",
    "pipeline/warm.py",
    "pipeline/worker.py",
)
STACK_FILE_BYTES = 256 * 1024  # the loader's bound: a hint never reads more than it would


def source_digest(project_dir: Path) -> str:
    """One hash of the program's source files (paths and contents, in a stable order)."""
    digest = hashlib.sha256()
    for entry in SOURCES:
        root = project_dir / entry
        files = sorted(root.rglob("*.py")) if root.is_dir() else [root]
        for path in files:
            if path.is_file():
                digest.update(str(path.relative_to(project_dir)).encode() + b"\0")
                digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def stack_files(stacks_dir: Path, selected: Sequence[str] | None) -> list[Path]:
    """The stack files a plan of ``selected`` (default: every stack) reads."""
    if selected:
        return [stacks_dir / f"Pulumi.{s}.yaml" for s in selected]
    return sorted(stacks_dir.glob("Pulumi.*.yaml"))


def _head(path: Path) -> bytes | None:
    try:
        with path.open("rb") as handle:
            return handle.read(STACK_FILE_BYTES)
    except OSError:
        return None


def cloud_key(project_dir: Path) -> str:
    """``<project>:cloud``, the project's name read as ``components.project`` reads it."""
    from components import project

    return project.key("cloud", project_dir)


def clouds_hint(project_dir: Path, stacks_dir: Path, selected: Sequence[str] | None) -> set[str]:
    """The clouds the stages are on, read ahead of validation to warm the right SDKs: a line
    scan of at most the loader's 256 KiB per file, never a YAML parse of unchecked input."""
    key = re.compile(rf"^\s*{re.escape(cloud_key(project_dir))}:\s*[\'\"]?([A-Za-z0-9_-]+)", re.M)
    clouds = set()
    for path in stack_files(stacks_dir, selected):
        data = _head(path)
        if data is None:
            continue
        found = key.search(data.decode("utf-8", errors="replace"))
        clouds.add(found.group(1) if found else "aws")
    return clouds or {"aws"}


class Seen:
    """Markers of the stack files whose exact bytes were rendered and stored in a cache, for
    this program source and pipeline file."""

    def __init__(self, cache_dir: Path, sources: str, pipeline_file: Path) -> None:
        """``sources``: the program's ``source_digest``."""
        self.directory = cache_dir / "seen"
        pipeline = _head(pipeline_file) or b""
        self._base = f"{sources}\0{hashlib.sha256(pipeline).hexdigest()}\0"

    def _marker(self, stack_file: Path) -> Path | None:
        data = _head(stack_file)
        if data is None:
            return None
        digest = hashlib.sha256(f"{self._base}{stack_file.name}\0".encode() + data)
        return self.directory / digest.hexdigest()

    def all_seen(self, files: Sequence[Path]) -> bool:
        markers = [self._marker(f) for f in files]
        return bool(markers) and all(m is not None and m.exists() for m in markers)

    def mark(self, stack_file: Path) -> None:
        marker = self._marker(stack_file)
        if marker is not None and not marker.exists():
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.touch()


def _stop_fork_server() -> None:
    """At exit: the fork server serves only this process. One still importing (a plan that
    stopped at bad input) would otherwise import on for a second or more after we are gone."""
    from multiprocessing import forkserver

    pid = getattr(forkserver._forkserver, "_forkserver_pid", None)  # no public stop in 3.11
    if pid:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGTERM)


def start_fork_server(clouds: set[str]) -> None:
    """Start the fork server now, warming ``clouds``' SDKs; idempotent. A cloud left out is
    only imported later, by its stage's process. It is stopped when this process exits."""
    os.environ.setdefault("STAGELINE_WARM", ",".join(sorted(clouds)))
    multiprocessing.get_context("forkserver").set_forkserver_preload(PRELOAD)
    from multiprocessing import forkserver

    forkserver.ensure_running()
    atexit.unregister(_stop_fork_server)  # once, however often it is called
    atexit.register(_stop_fork_server)


def _plan_options(argv: Sequence[str]) -> argparse.Namespace | None:
    words = list(argv)
    command = next((w for w in words if not w.startswith("-")), None)
    if command != "plan" or {"-h", "--help"} & set(words):
        return None
    parser = argparse.ArgumentParser(add_help=False, allow_abbrev=False, exit_on_error=False)
    parser.add_argument("--stack", action="append")
    parser.add_argument("--stacks-dir", default=str(PROJECT_DIR / "stacks"))
    parser.add_argument("--cache-dir", default=str(naming.cache_dir(PROJECT_DIR)))
    parser.add_argument("--no-cache", action="store_true")
    known, _ = parser.parse_known_args(words)
    return known


def clouds_to_warm(argv: Sequence[str]) -> set[str] | None:
    """The clouds whose SDKs a ``plan`` given ``argv`` will render with; None when it is no
    plan, or every stack file it reads is stored in its cache already.

    Any doubt (bad options, unreadable files) means None: the command itself reports bad
    input, and starts what it needs."""
    try:
        options = _plan_options(argv)
        if options is None:
            return None
        stacks_dir = Path(options.stacks_dir)
        pipeline_file = stacks_dir / "pipeline.yaml"
        if not pipeline_file.is_file():
            return None
        files = stack_files(stacks_dir, options.stack)
        if not options.no_cache:
            seen = Seen(Path(options.cache_dir), source_digest(PROJECT_DIR), pipeline_file)
            if seen.all_seen(files):
                return None
        return clouds_hint(PROJECT_DIR, stacks_dir, options.stack)
    except (Exception, SystemExit):  # only a guess: the command itself reports bad input
        return None


def start_for(argv: Sequence[str]) -> bool:
    """Start the fork server if ``argv`` is a ``plan`` that will render (called first thing by
    ``python -m pipeline``); whether it did."""
    clouds = clouds_to_warm(argv)
    if clouds is None:
        return False
    start_fork_server(clouds)
    return True
