"""Render the stages of two revisions, each with its own code, side by side.

A commit is checked out in a temporary ``git worktree`` and rendered there by its own
``python -m pipeline plan --format json`` (its own ``__main__.py``, components and pipeline),
run with this interpreter, so a change to the blueprint shows up as a change of desired state.
The working tree is rendered the same way in place (that render may be running already:
``python -m pipeline diff`` starts it before its CLI loads, pipeline/headstart.py). Both
revisions render at once.

Only what changed is rendered: a committed revision whose plan is in the cache (by its tree id,
pipeline/diff/plans.py) is read from there, with its stack files taken from git for the bounds
check and the secrets to mask; every other revision's plan is given the shared stage cache
(``--cache-dir``, when its own plan has one), so its unchanged stages are not rendered again.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from components.spec.bounded import read_yaml
from components.spec.loader import SpecError
from pipeline import headstart, naming
from pipeline.definition import load_pipeline
from pipeline.diff.masking import secrets_in
from pipeline.diff.plans import PlanCache

WORKING_TREE = "working tree"
RENDER_TIMEOUT = 900
"""Seconds both revisions together may take to render (``diff --timeout``); a hung render must
not hold a CI runner forever."""
CACHED, RENDERED = "from the cache", "rendered"
Done = Callable[[str, str], None]
"""``done(role, how)``: a revision's plan is ready, ``CACHED`` or ``RENDERED``."""


class DiffError(Exception):
    """Two revisions cannot be compared; the message names the revision, or the file and key.

    ``secrets`` holds the secret values of the stack files involved, for masking the message.
    """

    def __init__(self, message: str, secrets: set[str] | None = None) -> None:
        super().__init__(message)
        self.secrets = secrets or set()


@dataclass(frozen=True)
class Revision:
    """A commit (or the working tree when ``commit`` is None), with the name the user gave."""

    label: str
    commit: str | None = None

    def __str__(self) -> str:
        if self.commit is None:
            return WORKING_TREE
        short = self.commit[:12]
        return short if self.label.startswith(short) else f"{self.label} ({short})"


@dataclass
class RenderedRevision:
    """The plan of one revision, as its own ``plan --format json`` printed it."""

    role: str  # base | head
    revision: Revision
    plan: dict[str, Any]
    secrets: set[str] = field(default_factory=set)
    order: list[str] = field(default_factory=list)
    """Stacks in pipeline order (the plan's JSON lists them alphabetically)."""


def _git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, check=False, timeout=120
    )
    if done.returncode != 0:
        raise DiffError(f"git {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout.strip()


def repository(project_dir: Path) -> tuple[Path, str]:
    """The git top level holding the project, and the project's path inside it."""
    try:
        top = _git(project_dir, "rev-parse", "--show-toplevel")
        prefix = _git(project_dir, "rev-parse", "--show-prefix")
    except (DiffError, FileNotFoundError) as exc:
        raise DiffError(f"{project_dir} is not inside a git repository: {exc}") from None
    return Path(top), prefix.rstrip("/")


def resolve(project_dir: Path, role: str, rev: str | None) -> Revision:
    """The commit ``rev`` names, or the working tree for None; DiffError for a bad revision."""
    if rev is None:
        return Revision(WORKING_TREE)
    if not rev or rev.startswith("-"):
        raise DiffError(f"{role} revision {rev!r} is not a revision name")
    try:
        commit = _git(project_dir, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")
    except DiffError:
        raise DiffError(
            f"{role} revision {rev!r} is not a commit in this repository "
            "(a shallow clone needs `git fetch --unshallow` or checkout fetch-depth: 0)"
        ) from None
    return Revision(rev, commit)


@contextmanager
def checkout(top: Path, revision: Revision) -> Iterator[Path]:
    """A temporary worktree of ``revision``, removed again however the block ends."""
    assert revision.commit is not None
    parent = Path(tempfile.mkdtemp(prefix=naming.temp_prefix("diff")))
    tree = parent / revision.commit[:12]
    try:
        _git(top, "worktree", "add", "--detach", "--quiet", str(tree), revision.commit)
        yield tree
    finally:
        subprocess.run(
            ["git", "worktree", "remove", "--force", str(tree)],
            cwd=top,
            capture_output=True,
            check=False,
        )
        shutil.rmtree(parent, ignore_errors=True)
        subprocess.run(["git", "worktree", "prune"], cwd=top, capture_output=True, check=False)


def _tree(top: Path, prefix: str, revision: Revision) -> str | None:
    """The git tree id of the project at a commit: what its plan is a function of."""
    try:
        return _git(top, "rev-parse", "--verify", "--quiet", f"{revision.commit}:{prefix}")
    except DiffError:
        return None


def _stack_files(top: Path, prefix: str, revision: Revision, into: Path) -> Path | None:
    """The commit's ``stacks/`` alone, from git; None when it cannot be taken out safely (a
    link out of the tree, say): then the revision is checked out and rendered as usual."""
    stacks = f"{prefix}/stacks" if prefix else "stacks"
    done = subprocess.run(
        ["git", "archive", "--format=tar", str(revision.commit), "--", stacks],
        cwd=top,
        capture_output=True,
        check=False,
        timeout=120,
    )
    if done.returncode != 0:
        return None
    try:
        with tarfile.open(fileobj=io.BytesIO(done.stdout)) as archive:
            archive.extractall(into, filter="data")
    except (tarfile.TarError, OSError):
        return None
    return into / stacks


def _parse(role: str, revision: Revision, done: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    where = f"{role} revision {revision}"
    try:
        plan: dict[str, Any] = json.loads(done.stdout)
        if not isinstance(plan, dict) or "stacks" not in plan:
            raise ValueError("not a plan")
    except ValueError:
        detail = done.stderr.strip() or done.stdout.strip() or f"exit code {done.returncode}"
        if "invalid configuration" in detail:
            raise DiffError(f"{where} has invalid configuration:\n{detail}") from None
        raise DiffError(f"{where} failed to render (`pipeline plan` said):\n{detail}") from None
    failed = {s: v.get("error") for s, v in plan["stacks"].items() if v.get("error")}
    if failed:
        lines = "\n".join(f"  {stack}: {error}" for stack, error in failed.items())
        raise DiffError(f"{where} failed to render:\n{lines}")
    return plan


def _stage_order(stacks_dir: Path, plan: dict[str, Any]) -> list[str]:
    try:
        order = [stack for _, stack in load_pipeline(stacks_dir).stacks()]
    except SpecError:  # the revision rendered, so this is an older pipeline file format
        order = []
    return [s for s in order if s in plan["stacks"]] + sorted(set(plan["stacks"]) - set(order))


def check_bounds(role: str, revision: Revision, stacks_dir: Path) -> list[Any]:
    """Hold a revision's stack and pipeline files to this checkout's input bounds; the stack
    files as parsed (what the secrets to mask are read from, so each file is parsed once).

    The base revision renders with its own (possibly older) loader, so the bounds are applied
    here first, to both sides: an alias bomb in either revision is refused before any render.
    """
    docs = []
    paths = [*sorted(stacks_dir.glob("Pulumi.*.yaml")), stacks_dir / "pipeline.yaml"]
    for path in paths:
        if not path.exists() and not path.is_symlink():
            continue
        stack_file = path.name.startswith("Pulumi.")
        try:
            doc = read_yaml(path, "config" if stack_file else "pipelines")
        except SpecError as exc:
            raise DiffError(
                f"{role} revision {revision} has invalid configuration:\n{exc}"
            ) from None
        if stack_file:
            docs.append(doc)
    return docs


def _cached(
    cleanup: ExitStack,
    cache: PlanCache,
    top: Path,
    prefix: str,
    role: str,
    revision: Revision,
    stacks: list[str] | None,
) -> tuple[str | None, RenderedRevision | None]:
    """A committed revision's plan key, and its plan when the cache has it."""
    tree = _tree(top, prefix, revision) if revision.commit is not None else None
    if tree is None:
        return None, None
    key = cache.key(tree, stacks)
    plan = cache.get(key)
    if plan is None:
        return key, None
    place = Path(
        cleanup.enter_context(tempfile.TemporaryDirectory(prefix=naming.temp_prefix("diff")))
    )
    stacks_dir = _stack_files(top, prefix, revision, place)
    if stacks_dir is None:
        return key, None
    secrets = secrets_in(check_bounds(role, revision, stacks_dir))
    return key, RenderedRevision(role, revision, plan, secrets, _stage_order(stacks_dir, plan))


def render_revisions(
    project_dir: Path,
    base: Revision,
    head: Revision,
    stacks: list[str] | None = None,
    jobs: int | None = None,
    timeout: float = RENDER_TIMEOUT,
    cache_dir: Path | None = None,
    done: Done | None = None,
) -> tuple[RenderedRevision, RenderedRevision]:
    """Render both revisions at once, each with its own code; DiffError names what failed.

    Both renders share one deadline of ``timeout`` seconds; past it both are stopped. With
    ``cache_dir``, a committed revision rendered before is read from there, and the others'
    unchanged stages too; ``done(role, how)`` as each revision's plan is ready.
    """
    top, prefix = repository(project_dir)
    cache = PlanCache(cache_dir) if cache_dir is not None else None
    with ExitStack() as cleanup:
        results: dict[str, RenderedRevision] = {}
        keys: dict[str, str] = {}
        places: dict[str, tuple[Revision, Path]] = {}
        for role, revision in (("base", base), ("head", head)):
            if cache is not None:
                key, hit = _cached(cleanup, cache, top, prefix, role, revision, stacks)
                if key is not None:
                    keys[role] = key
                if hit is not None:
                    results[role] = hit
                    if done is not None:
                        done(role, CACHED)
                    continue
            if revision.commit is None:
                places[role] = (revision, project_dir)
                continue
            tree = cleanup.enter_context(checkout(top, revision))
            project = tree / prefix if prefix else tree
            if not (project / "pipeline" / "__main__.py").is_file():
                raise DiffError(
                    f"{role} revision {revision} has no pipeline package "
                    f"({prefix + '/' if prefix else ''}pipeline/__main__.py): it cannot render "
                    "its stages, so there is nothing to compare with"
                )
            places[role] = (revision, project)
        stack_docs = {
            role: check_bounds(role, revision, project / "stacks")
            for role, (revision, project) in places.items()
        }
        running: dict[str, subprocess.Popen[str]] = {}
        for role, (revision, project) in places.items():
            command = headstart.plan_command(project, stacks, jobs, cache_dir)
            # The working tree's render may be running already (python -m pipeline started it).
            early = headstart.take(command, project) if revision.commit is None else None
            running[role] = early or headstart.launch(command, project, revision.commit is not None)
        headstart.discard()  # an early render of some other command: stopped, not waited for
        secrets: set[str] = {s for r in results.values() for s in r.secrets}
        errors: list[str] = []
        with ThreadPoolExecutor(max(len(running), 1)) as waiters:
            waiting = {
                waiters.submit(process.communicate, timeout=timeout): role
                for role, process in running.items()
            }
            try:
                for future in as_completed(waiting):
                    role = waiting[future]
                    revision, project = places[role]
                    process = running[role]
                    try:
                        out, err = future.result()
                    except subprocess.TimeoutExpired:
                        headstart.stop(process)
                        errors.append(
                            f"{role} revision {revision} did not render within the {timeout:g} s "
                            "limit; stopped (raise it with --timeout SECONDS)"
                        )
                        continue
                    found = secrets_in(stack_docs[role])
                    secrets |= found
                    completed = subprocess.CompletedProcess(
                        process.args, process.returncode, out, err
                    )
                    try:
                        plan = _parse(role, revision, completed)
                    except DiffError as exc:
                        errors.append(str(exc))
                        # No diff without both sides: stop the other render instead of waiting.
                        for other in running.values():
                            headstart.stop(other)
                        break
                    results[role] = RenderedRevision(
                        role, revision, plan, found, _stage_order(project / "stacks", plan)
                    )
                    if cache is not None and role in keys:
                        cache.put(keys[role], plan)
                    if done is not None:
                        done(role, RENDERED)
            except BaseException:
                # Ctrl-C: the renders are this process's to stop (they run in their own
                # sessions, so the terminal's SIGINT never reached them), and the pool waits
                # for its readers, which return once their process is gone.
                for process in running.values():
                    headstart.stop(process)
                raise
        if errors:
            raise DiffError("\n".join(errors), secrets)
        return results["base"], results["head"]
