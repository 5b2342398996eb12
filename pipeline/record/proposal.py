"""Promotion by pull request, for a stage whose pipeline entry says ``promotion: pullRequest``.

``propose`` builds the stage's next record (the tree a direct promotion would record: the
release's infrastructure commit with the stack file pinning the release and every digest, and
``stacks/<stack>.record.json``) as one commit whose first parent is the stage's tip, and pushes
it as ``promotions/<stack>/<release>`` (``promotions/<stack>/rollback-<release>`` for a
``--rollback``, so its branch, pull request and record say so). Nothing is deployed and the ledger
is not touched. A
stage never promoted has no branch to merge into yet: the proposal opens ``stages/<stack>`` at
the release's infrastructure commit (no record file: the stage still runs what it ran).

A reviewer merges the proposal into ``stages/<stack>`` with a merge commit (first parent the
stage's tip, second the proposal). ``review_of`` checks that merge before ``promote --merged``
deploys it (pipeline.record.approval): the merge's tree is the proposal's, the proposal is
exactly the release (only the stack file and the record differ from its infrastructure commit,
and the stack file pins exactly the release's images), and whoever merged is not who proposed.

Identities, in plain git: the proposal commit's author and the merge commit's committer. Git
identities are not authenticated (anyone can commit as anyone): on GitHub the workflow passes the
pull request's author and its approving reviewer from the API instead, and what makes them
trustworthy is the ruleset on ``stages/*`` (a required approving review, no bypass), not git.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pipeline.promote.stage_record import StageChange
from pipeline.promote.state import RecordRefusedError
from pipeline.record.git import Git, tree_of
from pipeline.record.stage import RECORD_FILE, merged_proposal, stage_ref

if TYPE_CHECKING:
    from pipeline.record.stage_records import StageRecords

PROPOSAL_BRANCH = "promotions/{stack}/{release}"
ROLLBACK_BRANCH = "promotions/{stack}/rollback-{release}"


def proposal_branch(stack: str, release: str, kind: str = "forward") -> str:
    """The branch a proposal is pushed to: a rollback's is named as one."""
    template = ROLLBACK_BRANCH if kind == "rollback" else PROPOSAL_BRANCH
    return template.format(stack=stack, release=release)


class ProposalError(Exception):
    """A proposal or a merge that may not go ahead (exit 2); nothing was written."""


class SelfApprovalError(ProposalError):
    """The proposal was merged by its own author."""


@dataclass(frozen=True)
class Identity:
    """Who proposed or merged: a git identity (name and email) or a forge login (name only)."""

    name: str
    email: str = ""

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>" if self.email else self.name

    def same(self, other: Identity) -> bool:
        """One person: equal emails when both have one, else equal names (case-insensitive)."""
        if self.email and other.email:
            return self.email.casefold() == other.email.casefold()
        return self.name.casefold() == other.name.casefold()


@dataclass(frozen=True)
class Proposal:
    stack: str
    release: str
    branch: str
    commit: str
    base: str
    opened: bool  # this proposal created stages/<stack>
    existing: bool  # the same proposal was on the remote already
    kind: str = "forward"  # or "rollback" (promote --rollback): the stage returns to release

    @property
    def title(self) -> str:
        """The pull request's title; the proposal commit's subject says the same."""
        if self.kind == "rollback":
            return f"{self.stack}: roll back to {self.release}"
        return f"{self.stack}: promote {self.release}"

    def deploy_command(self) -> str:
        """What deploys the merge (promote-merged.yml runs it)."""
        flags = " --rollback" if self.kind == "rollback" else ""
        return f"promote {self.release} --to {self.stack} --merged{flags}"

    def pr_command(self) -> str:
        """The GitHub CLI command that opens the pull request."""
        what = (
            f"Proposes rolling {self.stack} back to {self.release}"
            if self.kind == "rollback"
            else f"Proposes {self.release} for {self.stack}"
        )
        body = (
            f"{what} ({self.commit[:12]}). Merging this pull request (with a merge commit, by a"
            " reviewer who is not its author) approves it; CI then deploys it with"
            f" `python -m pipeline {self.deploy_command()}`."
        )
        title = self.title
        args = ["gh", "pr", "create", "--base", f"stages/{self.stack}", "--head", self.branch]
        return shlex.join([*args, "--title", title, "--body", body])

    def to_json(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "release": self.release,
            "branch": self.branch,
            "commit": self.commit,
            "base": self.base,
            "opened": self.opened,
            "existing": self.existing,
            "kind": self.kind,
            "command": self.pr_command(),
        }


@dataclass(frozen=True)
class Review:
    """A verified merge of a proposal: what the stage record keeps as its approval."""

    stack: str
    release: str
    proposal: str
    merge: str
    proposer: Identity
    reviewer: Identity
    source: str  # "git" (commit identities) or "forge" (passed by CI from the forge's API)

    def to_record(self) -> dict[str, str]:
        return {
            "proposal": self.proposal,
            "merge": self.merge,
            "proposer": str(self.proposer),
            "reviewer": str(self.reviewer),
            "identities": self.source,
        }


def proposal_ref(stack: str, release: str, kind: str = "forward") -> str:
    return "refs/heads/" + proposal_branch(stack, release, kind)


def git_identity(git: Git) -> Identity:
    """The identity git commits as in this clone (user.name, user.email or GIT_AUTHOR_*)."""
    done = git.run("var", "GIT_AUTHOR_IDENT", check=False)
    text = done.stdout.decode().strip()
    if done.returncode != 0 or " <" not in text:
        raise ProposalError(
            "git has no identity to propose as: set user.name and user.email (the proposal's"
            " author is who proposed it; its reviewer must be someone else)"
        )
    name, _, rest = text.partition(" <")
    return Identity(name, rest.partition(">")[0])


def _remote_sha(state: StageRecords, ref: str) -> str | None:
    out = state.git.text("ls-remote", state.remote, ref)
    return out.split()[0] if out else None


def propose(state: StageRecords, change: StageChange) -> Proposal:
    """Push the stage's next record as ``promotions/<stack>/<release>`` (a rollback's as
    ``promotions/<stack>/rollback-<release>``); nothing deployed."""
    git, stack = state.git, change.stack
    proposer = git_identity(git)
    state.sync()
    tip = state.stage_tips.get(stack)
    if tip is not None and merged_proposal(git, stack, tip) is not None:
        merged = json.loads(git.show(tip, RECORD_FILE.format(stack=stack)) or b"{}")
        kind = str(merged.get("kind") or "forward")
        pending = Proposal(stack, str(merged.get("release")), "", tip, "", False, False, kind)
        raise ProposalError(
            f"stages/{stack} holds a merged proposal of {merged.get('release')} not deployed yet"
            f" ({tip[:12]}): deploy it first ("
            + (
                f"reconcile --stage {stack} --merged"
                if "heal" in merged
                else pending.deploy_command()
            )
            + ")"
        )
    infra = state.infrastructure_commit(stack, change.release, change.commit)
    base = tip or infra
    branch = proposal_branch(stack, change.release, change.kind)
    extra = {"proposal": {"proposer": str(proposer), "base": base}}
    files = state.record_files(change, infra, None, extra)
    parents = [base, infra] if base != infra else [infra]
    what = f"rolling back to {change.release}" if change.kind == "rollback" else change.release
    message = (
        f"{stack}: propose {what}\n\n"
        + "".join(f"{s}: {i}\n" for s, i in sorted(change.images.items()))
        + f"\nInfrastructure: {infra}\nProposed-by: {proposer}\n"
    )
    commit = git.commit_tree(
        infra, files, parents, message, state.index_file, (proposer.name, proposer.email)
    )
    ref = proposal_ref(stack, change.release, change.kind)
    old = _remote_sha(state, ref)
    if old is not None:
        git.run("fetch", "--quiet", "--no-tags", state.remote, ref, check=False)
        if (
            git.has_commit(old)
            and git.parents(old)[:1] == [base]
            and tree_of(git, old) == tree_of(git, commit)
        ):
            return Proposal(stack, change.release, branch, old, base, False, True, change.kind)
    updates: dict[str, tuple[str, str | None]] = {ref: (commit, old)}
    if tip is None:
        updates[stage_ref(stack)] = (infra, None)
    if git.push(state.remote, updates) is not None:
        raise RecordRefusedError(
            f"{state.remote}: refused the proposal (stages/{stack} or {branch} moved meanwhile);"
            " run again"
        )
    return Proposal(stack, change.release, branch, commit, base, tip is None, False, change.kind)
