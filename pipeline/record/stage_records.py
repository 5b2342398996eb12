"""What each stage runs, in the git state: the commit of ``stages/<stack>`` that records it, the
worktree a stage is deployed from, and the commit a promotion records (moved from
pipeline.record.state; the layout of a record is pipeline.record.stage)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from pipeline.promote.stage_record import EntryRef, StageChange, StageRecord, StageRecordError
from pipeline.promote.state import StateError, dump
from pipeline.record.checkout import CheckoutError, checkout, prune
from pipeline.record.stage import RECORD_FILE, STACK_FILE, merged_proposal, pin_stack_file
from pipeline.record.store import GitStore


class StageRecords(GitStore):
    """The stage records of a GitStore (``stages/<stack>`` beside ``stageline/state``)."""

    def deployed(self, stack: str) -> str | None:
        """The commit of ``stages/<stack>`` that records what the stage runs: its tip, or the
        base of a merged proposal not deployed yet; None when nothing was ever deployed."""
        self.ensure()
        tip = self.stage_tips.get(stack)
        if tip is None:
            return None
        merged = merged_proposal(self.git, stack, tip)
        commit = merged[0] if merged else tip
        return commit if self.git.show(commit, RECORD_FILE.format(stack=stack)) else None

    def stage_record(self, stack: str) -> StageRecord | None:
        commit = self.deployed(stack)
        raw = self.git.show(commit, RECORD_FILE.format(stack=stack)) if commit else None
        if raw is None or commit is None:
            return None
        where = f"{self.remote}:stages/{stack}:{RECORD_FILE.format(stack=stack)}"
        try:
            record = StageRecord.from_json(json.loads(raw), where)
        except StageRecordError as exc:
            raise StateError(str(exc)) from None
        except ValueError as exc:  # not JSON
            raise StateError(f"{where}: {exc}") from None
        pending = self.stage_tips.get(stack) != commit
        return replace(
            record,
            ref=f"stages/{stack}",
            record_commit=commit,
            pending_merge=self.stage_tips[stack] if pending else None,
        )

    def infrastructure_commit(self, stack: str, release: str, commit: str | None) -> str:
        """The commit a stage is built from: the release's, else (a config that is no stored
        release, such as the bootstrap) the stage's current record, else this checkout's HEAD."""
        if commit and self.git.has_commit(commit):
            return commit
        if commit:
            raise StateError(
                f"release {release} was built from commit {commit[:12]}, which this clone does"
                f" not have: `git fetch {self.remote}` it first"
            )
        tip = self.deployed(stack)
        if tip:
            record = json.loads(self.git.show(tip, RECORD_FILE.format(stack=stack)) or b"{}")
            if record.get("commit") and self.git.has_commit(record["commit"]):
                return str(record["commit"])
        head = self.git.rev("HEAD")
        if head is None:
            raise StateError(f"{self.git.repo}: no commit checked out")
        return head

    def source(self, stack: str, release: str, commit: str | None) -> Path:
        """A worktree at the infrastructure commit that ``stack`` is deployed from."""
        base = self.infrastructure_commit(stack, release, commit)
        return self._checkout(base)

    def _checkout(self, commit: str) -> Path:
        try:
            path = checkout(self.git, self.git_dir, commit)
        except CheckoutError as exc:
            raise StateError(str(exc)) from None
        self.used.add(path)
        return path

    def prune_worktrees(self) -> list[str]:
        """Remove old releases' worktrees (all but the most recently used, and never one this
        process uses); returns the commits removed."""
        return prune(self.git, self.git_dir, self.used)

    stage_branches = True

    def stage_checkout(self, stack: str) -> Path | None:
        """A worktree at the record of ``stages/<stack>`` (what the stage runs), or None."""
        tip = self.deployed(stack)
        if tip is None:
            return None
        return self._checkout(tip)

    def record_files(
        self,
        stage: StageChange,
        base: str,
        last: EntryRef | None,
        extra: Mapping[str, Any] | None = None,
    ) -> dict[str, bytes]:
        """The two files a stage record changes in ``base``: the stack file pinning the
        release and every digest, and the record naming them (plus ``extra`` fields)."""
        stack_path = STACK_FILE.format(stack=stage.stack)
        text = self.git.show(base, stack_path)
        if text is None:
            raise StateError(f"commit {base[:12]} has no {stack_path}")
        record = StageRecord.of(stage, last).to_json() | {"commit": base, **(extra or {})}
        return {
            stack_path: pin_stack_file(text, stage.release, stage.images),
            RECORD_FILE.format(stack=stage.stack): dump(record).encode(),
        }

    def _stage_commit(self, stage: StageChange, last: EntryRef | None) -> str:
        base = self.infrastructure_commit(stage.stack, stage.release, stage.commit)
        changes = self.record_files(stage, base, last)
        previous = self.stage_tips.get(stage.stack)
        parents = [p for p in (previous, base) if p]
        message = (
            f"{stage.stack}: run {stage.release} ({stage.kind}, {stage.promotion})\n\n"
            + "".join(f"{s}: {i}\n" for s, i in sorted(stage.images.items()))
            + f"\nInfrastructure: {base}\nApproved-by: {stage.approver or '-'}\n"
        )
        return self.git.commit_tree(
            base, changes, parents, self._signed(message), self.index_file, self.runner.identity
        )
