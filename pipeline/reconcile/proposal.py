"""A drifted stage's heal, proposed the way a stage promoted by pull request is promoted.

``propose_heal`` pushes ``promotions/<stack>/heal-<release>``: one commit onto the stage's
record (``stages/<stack>``) that changes only ``stacks/<stack>.record.json``, adding who proposed
it (``proposal``, as pipeline.record.proposal writes it) and what drifted (``heal``). The stack
file, and so what an ``up`` deploys, stays exactly the record's. Its pull request into
``stages/<stack>`` is the review; a reviewer merges it with a merge commit, and ``reconcile
--stage <stack> --merged`` (promote-merged.yml runs it for a merged heal) checks that merge with
``heal_review`` and heals the stage from its record. Until then the merge is a pending merge
(pipeline.record.state.GitState.deployed reads the base), and no other proposal may be opened.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pipeline.promote.deployer import Change
from pipeline.promote.state import RecordRefusedError, StageChange
from pipeline.record.approval import merge_identities
from pipeline.record.proposal import (
    ProposalError,
    Review,
    SelfApprovalError,
    git_identity,
)
from pipeline.record.stage import RECORD_FILE, merged_proposal

if TYPE_CHECKING:
    from pipeline.record.state import GitState

HEAL_BRANCH = "promotions/{stack}/heal-{release}"


@dataclass(frozen=True)
class HealProposal:
    stack: str
    release: str
    branch: str
    commit: str
    base: str  # the stage's record it was proposed onto
    existing: bool  # the same proposal was on the remote already

    def heal_command(self) -> str:
        """What heals the stage once the proposal is merged (promote-merged.yml runs it)."""
        return f"reconcile --stage {self.stack} --merged"

    def pr_command(self) -> str:
        """The GitHub CLI command that opens the pull request."""
        body = (
            f"{self.stack} no longer runs what its record says ({self.release}); this proposes"
            f" running the record again ({self.commit[:12]}, the drift is in"
            f" {RECORD_FILE.format(stack=self.stack)}). Merging it (a merge commit, by a reviewer"
            f" who is not its author) approves the heal; CI then runs `python -m pipeline"
            f" {self.heal_command()}`."
        )
        args = ["gh", "pr", "create", "--base", f"stages/{self.stack}", "--head", self.branch]
        return shlex.join([*args, "--title", f"{self.stack}: heal drift", "--body", body])

    def to_json(self) -> dict[str, Any]:
        return {
            "branch": self.branch,
            "commit": self.commit,
            "base": self.base,
            "existing": self.existing,
            "command": self.pr_command(),
        }


def _record_at(state: GitState, commit: str, stack: str) -> dict[str, Any]:
    raw = state.git.show(commit, RECORD_FILE.format(stack=stack))
    record: dict[str, Any] = json.loads(raw) if raw is not None else {}
    return record


def propose_heal(state: GitState, stack: str, drift: Sequence[Change]) -> HealProposal:
    """Push the proposal to heal ``stack`` back to its record; nothing deployed."""
    git = state.git
    proposer = git_identity(git)
    state.sync()
    tip = state.stage_tips.get(stack)
    if tip is None or git.show(tip, RECORD_FILE.format(stack=stack)) is None:
        raise ProposalError(f"stages/{stack} records no deployment: there is nothing to heal to")
    if merged_proposal(git, stack, tip) is not None:
        pending = _record_at(state, git.parents(tip)[1], stack)
        then = (
            f"reconcile --stage {stack} --merged"
            if "heal" in pending
            else f"promote {pending.get('release')} --to {stack} --merged"
        )
        raise ProposalError(
            f"stages/{stack} holds a merged proposal not deployed yet ({tip[:12]}): {then}"
        )
    record = _record_at(state, tip, stack)
    release = str(record["release"])
    proposed = record | {
        "proposal": {"proposer": str(proposer), "base": tip},
        "heal": {"drift": [c.to_json() for c in drift]},
    }
    content = (json.dumps(proposed, indent=2, sort_keys=True) + "\n").encode()
    message = (
        f"{stack}: propose healing drift back to {release}\n\n"
        + "".join(f"{c.op}: {c.urn}\n" for c in drift)
        + f"\nProposed-by: {proposer}\n"
    )
    path = RECORD_FILE.format(stack=stack)
    identity = (proposer.name, proposer.email)
    commit = git.commit_tree(tip, {path: content}, [tip], message, state.index_file, identity)
    branch = HEAL_BRANCH.format(stack=stack, release=release)
    ref = f"refs/heads/{branch}"
    listed = git.text("ls-remote", state.remote, ref)
    old = listed.split()[0] if listed else None
    if old is not None:
        git.run("fetch", "--quiet", "--no-tags", state.remote, ref, check=False)
        same_tree = git.has_commit(old) and git.show(old, path) == content
        if same_tree and git.parents(old) == [tip]:
            return HealProposal(stack, release, branch, old, tip, True)
    if git.push(state.remote, {ref: (commit, old)}) is not None:
        raise RecordRefusedError(f"{state.remote}: refused the heal proposal ({branch}); run again")
    return HealProposal(stack, release, branch, commit, tip, False)


def heal_review(state: GitState, stack: str, forge: tuple[str, str] | None = None) -> Review:
    """Check that ``stages/<stack>`` is a reviewed merge of a heal proposal (the merge keeps
    the proposal's tree, the proposal changes nothing but the record file, and whoever merged
    is not who proposed); ``forge`` as in pipeline.record.proposal.review_of."""
    git = state.git
    state.sync()
    where = f"{state.remote}:stages/{stack}"
    tip = state.stage_tips.get(stack)
    found = merged_proposal(git, stack, tip) if tip is not None else None
    if tip is None or found is None:
        raise ProposalError(f"{where} is not the merge of a proposal: nothing to heal by merge")
    base, proposal = found
    record = _record_at(state, proposal, stack)
    if "heal" not in record:
        raise ProposalError(
            f"{where} merged a proposal of {record.get('release')}, not a heal: deploy it with"
            f" `promote {record.get('release')} --to {stack} --merged`"
        )
    changed = git.text("diff-tree", "-r", "--name-only", base, proposal).splitlines()
    same_tree = git.text("rev-parse", f"{tip}^{{tree}}", f"{proposal}^{{tree}}").split()
    if len(set(same_tree)) != 1 or changed != [RECORD_FILE.format(stack=stack)]:
        raise ProposalError(
            f"{where}: the merged heal {proposal[:12]} changes more than the record's"
            f" {RECORD_FILE.format(stack=stack)}; propose it again (reconcile)"
        )
    proposer, reviewer, source = merge_identities(git, proposal, tip, forge)
    if proposer.same(reviewer):
        raise SelfApprovalError(
            f"{where}: {reviewer} merged their own heal proposal; self-approval is refused"
        )
    return Review(stack, str(record["release"]), proposal, tip, proposer, reviewer, source)


def healed_change(state: GitState, stack: str, review: Review, run: str) -> StageChange:
    """The stage's record after a merged heal: what it ran before, approved by the reviewer,
    written by reconcile run ``run`` (it moves ``stages/<stack>`` past the merge)."""
    base = state.git.parents(review.merge)[0]
    record = _record_at(state, base, stack)
    return StageChange(
        stack,
        str(record["pipeline"]),
        str(record["release"]),
        dict(record["images"]),
        record.get("commit"),
        run,
        str(record.get("kind") or "forward"),
        str(review.reviewer),
        {**review.to_record(), "kind": "heal"},
    )
