"""What governs a promotion: the pipeline file and the policy configs on the protected branch.

A promotion's gates (stage order, soak, approval, which stages need reviewed code) and each
stage's policy config are read from the protected branch at the remote (its default branch
unless configured), never from the runner's working tree: a local edit of
``stacks/pipeline.yaml`` cannot switch approval or soak off. The commit and blob ids that
governed are recorded in the promotion's ``start`` entry, so ``ledger verify`` can replay the
gates against exactly that file.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from components.spec.loader import SpecError
from pipeline.definition import DEFAULT_FILE, PipelineFile, load_pipeline
from pipeline.naming import scratch_dir
from pipeline.policy.config import config_path
from pipeline.promote.deployer import PolicyOptions
from pipeline.promote.entries import LedgerEntry
from pipeline.promote.release import Release
from pipeline.promote.state import StateError
from pipeline.record.gate_audit import Audit, Governing, audit
from pipeline.record.git import Git, GitError, blob_id
from pipeline.record.refs import PIPELINE_PATH, PROTECTED

POLICY_CONFIGS = "policies/config"
MATERIALIZED = "governance"  # under <git dir>/<name>: the governing files, by commit


class GovernanceError(StateError):
    """The protected branch cannot be read, or the working tree differs from it."""


def default_branch(git: Git, remote: str) -> str:
    """The remote's default branch (what its HEAD points at)."""
    try:
        out = git.text("ls-remote", "--symref", remote, "HEAD")
    except GitError as exc:
        raise GovernanceError(f"cannot read the default branch of {remote}: {exc}") from None
    for line in out.splitlines():
        head, _, name = line.partition("\t")
        if head.startswith("ref: refs/heads/") and name == "HEAD":
            return head.removeprefix("ref: refs/heads/")
    raise GovernanceError(f"{remote} names no default branch (HEAD): pass --protected-branch NAME")


@dataclass(frozen=True)
class Governance:
    """The governing files at one commit of the protected branch, with their blob ids."""

    remote: str
    branch: str
    commit: str
    pipeline_blob: str
    policy_blobs: Mapping[str, str]  # policies/config/<name>.json -> blob id
    root: Path  # where the files were written: <root>/stacks/pipeline.yaml, <root>/policies/...
    git: Git

    @property
    def where(self) -> str:
        return f"{self.remote}/{self.branch} ({self.commit[:12]})"

    def definition(self) -> PipelineFile:
        try:
            return load_pipeline(self.root / "stacks")
        except SpecError as exc:
            raise SpecError(f"{self.where}:{PIPELINE_PATH}", exc.problems) from None

    def to_record(self) -> dict[str, Any]:
        """What the ``start`` entry keeps: the commit and every governing file's blob id."""
        return {
            "branch": self.branch,
            "commit": self.commit,
            "pipeline": {"path": PIPELINE_PATH, "blob": self.pipeline_blob},
            "policyConfigs": dict(sorted(self.policy_blobs.items())),
        }

    def differences(self, repo: Path, stacks_dir: Path | None = None) -> list[str]:
        """The working tree's governing files that are not the protected branch's."""
        found: list[str] = []
        pipeline = (stacks_dir or repo / "stacks") / DEFAULT_FILE
        if _blob_of(pipeline) != self.pipeline_blob:
            found.append(PIPELINE_PATH)
        local = {
            f"{POLICY_CONFIGS}/{p.name}": _blob_of(p)
            for p in sorted((repo / POLICY_CONFIGS).glob("*.json"))
        }
        for path in sorted(set(local) | set(self.policy_blobs)):
            if local.get(path) != self.policy_blobs.get(path):
                found.append(path)
        return found

    def reviewed(self, commit: str) -> bool:
        """Whether ``commit`` is reachable from the protected branch (it was merged)."""
        return self.git.is_ancestor(commit, self.commit) if self.git.has_commit(commit) else False

    def policy(
        self, chosen: Callable[[str], PolicyOptions], definition: PipelineFile
    ) -> Callable[[str], PolicyOptions]:
        """``chosen``'s pack with the protected branch's config for each stack's stage."""
        config_dir = self.root / POLICY_CONFIGS

        def options(stack: str) -> PolicyOptions:
            candidate = config_path(config_dir, definition.stage_name(stack) or stack)
            return PolicyOptions(chosen(stack).pack, candidate if candidate.exists() else None)

        return options

    def audit(self, entries: list[LedgerEntry], releases: Mapping[str, Release]) -> Audit:
        """Replay each promotion's gates against the pipeline file that governed it."""
        return audit(
            entries, releases, Governing(self.git, self.commit, f"{self.remote}/{self.branch}")
        )


def _blob_of(path: Path) -> str | None:
    try:
        return blob_id(path.read_bytes())
    except OSError:
        return None


def read_governance(git: Git, git_dir: Path, remote: str, branch: str | None) -> Governance:
    """Fetch the protected branch (``branch``, default the remote's default branch) and write
    its governing files under ``<git_dir>/stageline/governance/<commit>``."""
    name = branch or default_branch(git, remote)
    ref = PROTECTED + name
    try:
        git.run("fetch", "--quiet", "--no-tags", remote, f"+refs/heads/{name}:{ref}")
    except GitError as exc:
        raise GovernanceError(
            f"cannot read the protected branch {name!r} from {remote}: {exc}"
        ) from None
    commit = git.rev(ref)
    if commit is None:
        raise GovernanceError(f"{remote} has no branch {name!r} to govern promotions")
    listing = git.text("ls-tree", "-r", commit, "--", PIPELINE_PATH, f"{POLICY_CONFIGS}/")
    blobs = {}
    for line in listing.splitlines():
        meta, _, path = line.partition("\t")
        blobs[path] = meta.split()[2]
    if PIPELINE_PATH not in blobs:
        raise GovernanceError(f"{remote}/{name} ({commit[:12]}) has no {PIPELINE_PATH}")
    root = scratch_dir(git_dir) / MATERIALIZED / commit
    contents = git.blobs(list(blobs.values()))
    for path, blob in blobs.items():
        target = root / path
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(contents[blob])
    policy = {p: b for p, b in blobs.items() if p.startswith(f"{POLICY_CONFIGS}/")}
    policy = {p: b for p, b in policy.items() if p.endswith(".json") and p.count("/") == 2}
    return Governance(remote, name, commit, blobs[PIPELINE_PATH], policy, root, git)
