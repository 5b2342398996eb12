"""The check of a reviewed merge before ``promote --merged`` deploys it (moved from
pipeline.record.proposal, which describes the proposal and its merge): the merge's tree is the
proposal's, the proposal is exactly the release, and whoever merged is not who proposed."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING

from pipeline.record.git import Git, tree_of
from pipeline.record.proposal import (
    Identity,
    Proposal,
    ProposalError,
    Review,
    SelfApprovalError,
)
from pipeline.record.stage import RECORD_FILE, STACK_FILE, merged_proposal, pin_stack_file

if TYPE_CHECKING:
    from pipeline.record.stage_records import StageRecords


def _commit_identity(git: Git, commit: str, who: str) -> Identity:
    fields = "%an%x00%ae" if who == "author" else "%cn%x00%ce"
    name, _, email = git.text("log", "-1", f"--format={fields}", commit).partition("\0")
    return Identity(name, email)


def merge_identities(
    git: Git, proposal: str, merge: str, forge: tuple[str, str] | None
) -> tuple[Identity, Identity, str]:
    """Who proposed and who merged, and where that was read: the forge's logins when CI
    passes them (``forge``), else the proposal commit's author and the merge's committer."""
    if forge is not None:
        return Identity(forge[0]), Identity(forge[1]), "forge"
    return (
        _commit_identity(git, proposal, "author"),
        _commit_identity(git, merge, "committer"),
        "git",
    )


def review_of(
    state: StageRecords,
    stack: str,
    release: str,
    images: Mapping[str, str],
    commit: str | None,
    forge: tuple[str, str] | None = None,
    rollback: bool = False,
) -> Review:
    """Check that ``stages/<stack>`` is a reviewed merge of the proposal of ``release``, a
    rollback's when ``rollback`` (the merge deploys what was reviewed, in that direction).

    ``forge``: (author, reviewer) logins passed by CI from the forge's API; without it the
    proposal commit's author and the merge commit's committer are compared.
    """
    git = state.git
    state.ensure()
    tip = state.stage_tips.get(stack)
    where = f"{state.remote}:stages/{stack}"
    if tip is None:
        raise ProposalError(f"{where}: no such branch; nothing was proposed or merged")
    found = merged_proposal(git, stack, tip)
    if found is None:
        raise ProposalError(
            f"{where} ({tip[:12]}) is not the merge of a proposal: propose with `promote"
            f" {release} --to {stack}`, then merge its pull request with a merge commit"
            " (a fast-forward records no reviewer)"
        )
    _, proposal = found
    stack_path, record_path = STACK_FILE.format(stack=stack), RECORD_FILE.format(stack=stack)
    record = json.loads(git.show(proposal, record_path) or b"{}")
    if record.get("release") != release:
        raise ProposalError(
            f"{where} merged the proposal of {record.get('release')}, not of {release}"
        )
    if "heal" in record:  # reconcile's heal proposal: its merge redeploys the record
        raise ProposalError(
            f"{where} merged a heal proposal of {release}, not a promotion: deploy it with"
            f" `reconcile --stage {stack} --merged`"
        )
    kind = str(record.get("kind") or "forward")
    if kind != ("rollback" if rollback else "forward"):
        merged = Proposal(stack, release, "", proposal, "", False, False, kind)
        raise ProposalError(
            f"{where} merged a proposal to {'roll back to' if kind == 'rollback' else 'promote'}"
            f" {release}: deploy it with `{merged.deploy_command()}`"
        )
    if tree_of(git, tip) != tree_of(git, proposal):
        raise ProposalError(
            f"{where}: the merge commit {tip[:12]} changes files of the proposal; merge it as"
            " proposed (propose again for another change)"
        )
    infra = state.infrastructure_commit(stack, release, commit)
    changed = set(git.text("diff-tree", "-r", "--name-only", infra, proposal).splitlines())
    base_stack = git.show(infra, stack_path)
    pinned = pin_stack_file(base_stack, release, images) if base_stack is not None else None
    if not changed <= {stack_path, record_path} or git.show(proposal, stack_path) != pinned:
        extra = sorted(changed - {stack_path, record_path})
        raise ProposalError(
            f"{where}: the merged proposal {proposal[:12]} is not exactly {release} at"
            f" {infra[:12]} ({', '.join(extra) or stack_path + ' pins other images'});"
            " propose again"
        )
    proposer, reviewer, source = merge_identities(git, proposal, tip, forge)
    if proposer.same(reviewer):
        raise SelfApprovalError(
            f"{where}: {reviewer} merged their own proposal of {release}; self-approval is"
            " refused: a reviewer who is not its author must merge it"
        )
    return Review(stack, release, proposal, tip, proposer, reviewer, source)
