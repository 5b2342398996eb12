"""Start the working tree's render the moment ``python -m pipeline diff`` begins.

``diff`` renders the working tree by running its ``plan --format json`` in a child process; the
revisions' checkouts, the cached base and the bounds checks are the parent's own work. The
child's command follows from the options alone, so it can start before the parent loads its
CLI (about half a second on a two-core machine) and run alongside that work. ``render_revisions``
then takes the early child when its command is exactly the one it would run; a child it does not
take is stopped at once (or when the process exits), so a wrong guess costs only CPU.

This module stays light (standard library only): it runs before anything else is imported.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pipeline import naming

PROJECT_DIR = Path(__file__).resolve().parent.parent


def has_stage_cache(project: Path) -> bool:
    """Whether the revision's own ``plan`` takes ``--cache-dir`` (older ones render afresh).
    The option was declared in pipeline/cli.py, and is in pipeline/arguments.py since the
    commands share their option helpers."""
    for declared in ("cli.py", "arguments.py"):
        try:
            text = (project / "pipeline" / declared).read_text(encoding="utf-8")
        except OSError:
            continue
        if "--cache-dir" in text:
            return True
    return False


def plan_command(
    project: Path, stacks: Sequence[str] | None, jobs: int | None, cache_dir: Path | None
) -> list[str]:
    """The ``plan`` a revision checked out at ``project`` renders its stages with."""
    command = [sys.executable, "-m", "pipeline", "plan", "--format", "json"]
    for stack in stacks or []:
        command += ["--stack", stack]
    if jobs:
        command += ["--jobs", str(jobs)]
    if cache_dir is not None and has_stage_cache(project):
        # Absolute: the plan runs in the revision's directory, the user meant their own.
        command += ["--cache-dir", str(cache_dir.absolute())]
    return command


def environment(in_worktree: bool) -> dict[str, str]:
    """The environment of a revision's render: nothing from this checkout on the path."""
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    if in_worktree:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def launch(command: list[str], project: Path, in_worktree: bool) -> subprocess.Popen[str]:
    """A revision's render, in its own process group (stopping it stops its stage processes)."""
    return subprocess.Popen(
        command,
        cwd=project,
        env=environment(in_worktree),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def stop(process: subprocess.Popen[str]) -> None:
    """Kill a render still running, with the stage processes it started."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@dataclass
class _Early:
    command: list[str]
    project: Path
    process: subprocess.Popen[str]


_early: _Early | None = None


def _diff_options(argv: Sequence[str], project: Path) -> argparse.Namespace | None:
    """``diff``'s options that decide the working tree's render; None for anything else."""
    words = list(argv)
    command = next((w for w in words if not w.startswith("-")), None)
    if command != "diff" or {"-h", "--help"} & set(words):
        return None
    parser = argparse.ArgumentParser(add_help=False, allow_abbrev=False, exit_on_error=False)
    parser.add_argument("--base")  # not required=True: argparse would print its own usage
    parser.add_argument("--head")
    parser.add_argument("--stack", action="append")
    parser.add_argument("--jobs", type=int)
    # The default pipeline/arguments.py gives, for the checkout that runs.
    parser.add_argument("--cache-dir", default=str(naming.cache_dir(project)))
    parser.add_argument("--no-cache", action="store_true")
    known, _ = parser.parse_known_args(words)
    return known


def start_for(argv: Sequence[str], project: Path = PROJECT_DIR) -> bool:
    """Start the working tree's render if ``argv`` is a ``diff`` whose head is the working tree
    (called first thing by ``python -m pipeline``); whether it did. Any doubt means no: the
    command itself reports bad input and starts what it needs."""
    global _early
    discard()  # at most one: a second call replaces the first
    try:
        options = _diff_options(argv, project)
    except (Exception, SystemExit):
        return False
    if (
        options is None
        or options.base is None
        or options.head is not None
        or (options.jobs is not None and options.jobs < 1)
    ):
        return False
    if not (project / "stacks" / "pipeline.yaml").is_file():
        return False
    cache_dir = None if options.no_cache else Path(options.cache_dir)
    command = plan_command(project, options.stack, options.jobs, cache_dir)
    try:
        _early = _Early(command, project, launch(command, project, in_worktree=False))
    except OSError:
        return False
    atexit.unregister(discard)  # once, however often it is called
    atexit.register(discard)
    return True


def take(command: list[str], project: Path) -> subprocess.Popen[str] | None:
    """The early render if it runs exactly ``command`` in ``project`` (it is the caller's from
    now on); otherwise None, and an early render that differs is stopped."""
    global _early
    early, _early = _early, None
    if early is None:
        return None
    if early.command == command and early.project == project:
        return early.process
    stop(early.process)
    return None


def discard() -> None:
    """Stop an early render nobody took (a diff that stopped at bad input, say)."""
    global _early
    early, _early = _early, None
    if early is not None:
        stop(early.process)
