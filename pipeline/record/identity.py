"""Who wrote the record, and nothing of the host it ran on.

State commits are authored by whoever ran the promotion: the CI actor (with the run) under
GitHub Actions, else git's own identity (``user.name``/``user.email``). An approver named on
the command line is the forge's only in CI (deploy.yml reads it from the run's approvals);
anywhere else it is only claimed, and the record says so. Ledger entries keep no host paths:
a path under the checkout, its git directory or the temporary directory is written relative.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.naming import project_name
from pipeline.promote.state import StateError
from pipeline.record.git import Git, GitError

_IDENT = re.compile(r"^(?P<name>.*) <(?P<email>[^>]*)> \d+ [+-]\d{4}$")


@dataclass(frozen=True)
class Runner:
    """Who ran a promotion: ``source`` is ``ci`` (the forge's actor, with ``run``) or ``git``."""

    name: str
    email: str
    source: str
    run: str | None = None

    @property
    def identity(self) -> tuple[str, str]:
        return self.name, self.email

    def to_record(self) -> dict[str, str | None]:
        return {"name": self.name, "email": self.email, "source": self.source, "run": self.run}


def in_ci(env: Mapping[str, str]) -> bool:
    return env.get("GITHUB_ACTIONS") == "true" and bool(env.get("GITHUB_ACTOR"))


def runner_of(git: Git, env: Mapping[str, str] | None = None) -> Runner:
    """The CI actor and run, else git's identity; StateError when git has none."""
    env = os.environ if env is None else env
    if in_ci(env):
        actor = env["GITHUB_ACTOR"]
        actor_id = env.get("GITHUB_ACTOR_ID")
        # GitHub's no-reply address for the account (the form its web commits use).
        email = f"{actor_id}+{actor}" if actor_id else actor
        parts = [env.get(k) for k in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID")]
        run = f"{parts[0]}/{parts[1]}/actions/runs/{parts[2]}" if all(parts) else None
        return Runner(actor, f"{email}@users.noreply.github.com", "ci", run)
    try:
        ident = git.text("var", "GIT_COMMITTER_IDENT")
    except GitError as exc:
        raise StateError(
            f"no git identity to record who promoted ({exc.args[0].splitlines()[-1]}): set"
            " git config user.name and user.email"
        ) from None
    found = _IDENT.match(ident)
    if found is None:
        raise StateError(f"git var GIT_COMMITTER_IDENT gave {ident!r}; expected 'Name <email>'")
    return Runner(found["name"], found["email"], "git")


def approver_source(env: Mapping[str, str] | None = None) -> str:
    """What an approver named on the command line is worth: the forge's in CI, else claimed."""
    return "forge" if in_ci(os.environ if env is None else env) else "claimed"


def host_roots(*paths: Path) -> list[str]:
    """Absolute roots to strip from entries, longest first (the temporary directory last)."""
    roots = {str(p.resolve()) for p in paths} | {str(Path(tempfile.gettempdir()).resolve())}
    roots |= {str(p) for p in paths}
    return sorted((r for r in roots if r not in ("/", "")), key=len, reverse=True)


# A file under the clone's scratch space keeps only its path inside the checkout it belongs to.
_SCRATCH = re.compile(
    rf"(?:\.git/)?{re.escape(project_name())}/(?:governance|worktrees|offline)/[^/\s]+/"
)


def without_host_paths(value: Any, roots: Sequence[str]) -> Any:
    """``value`` with every ``<root>/rest`` in its strings written ``rest``."""
    if isinstance(value, str):
        for root in roots:
            value = value.replace(root + "/", "")
        return _SCRATCH.sub("", value)
    if isinstance(value, Mapping):
        return {k: without_host_paths(v, roots) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [without_host_paths(v, roots) for v in value]
    return value
