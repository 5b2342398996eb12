"""The tamper checks of the git state (moved from pipeline.record.state): ``check`` audits the
remote's history from the newest state this clone verified (pipeline.record.audit) and each stage
branch against the entry that moved it. GitState inherits them through GitStore, which runs
``check`` on every fetch."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from pipeline.record import index as saved
from pipeline.record.audit import Audit
from pipeline.record.commits import read_history
from pipeline.record.git import Git
from pipeline.record.index import LedgerIndex
from pipeline.record.layout import LedgerTree
from pipeline.record.refs import SEEN_REF, STATE_REF
from pipeline.record.stage import RECORD_FILE, merged_proposal


class StateChecks:
    """What GitState checks when it reads the remote (its attributes, declared here)."""

    git: Git
    remote: str
    index: LedgerIndex
    index_path: Path
    saved: str | None
    stage_files = False  # stage records are branches (True: files of the state, a local record)

    def check(self, tip: str | None, stages: Mapping[str, str]) -> tuple[list[str], LedgerIndex]:
        """Every way the state at ``tip`` (with these stage branches) fails to verify, and the
        index of its ledger."""
        problems: list[str] = []
        where = f"{self.remote}:{STATE_REF}"
        seen = self.git.rev(SEEN_REF)
        if seen and (tip is None or not self.git.is_ancestor(seen, tip)):
            problems.append(
                f"{where}: no longer contains {seen[:12]}, the state this clone verified last:"
                " its history was rewritten or the ref deleted"
            )
        if tip is None:
            if stages:
                problems.append(
                    f"{where}: missing, but stages/{sorted(stages)[0]} records a promotion:"
                    " the ledger was deleted"
                )
            return problems, LedgerIndex()
        start = self._verified_before(tip) if not problems else LedgerIndex()
        audit = Audit(self.git, where, start, self.stage_files)
        index = audit.run(read_history(self.git, tip, start.commit))
        index.commit = tip
        problems += audit.problems
        tree = LedgerTree(self.git, tip, index.sealed, index.legacy)
        for stack, sha in sorted(stages.items()):
            problems += self._check_stage(stack, sha, tree, index)
        return problems, index

    def _verified_before(self, tip: str) -> LedgerIndex:
        """Where the audit of ``tip`` starts: the newest state this clone verified (in this
        process, else as saved) that ``tip``'s history still contains; else the beginning."""
        stored = saved.load(self.index_path)
        if stored is not None:
            self.saved = stored.commit
        for known in (self.index, stored):
            if known is None or known.commit is None:
                continue
            if known.commit == tip or self.git.is_ancestor(known.commit, tip):
                return known.copy() if known is self.index else known
        return LedgerIndex()

    def _check_stage(self, stack: str, sha: str, tree: LedgerTree, index: LedgerIndex) -> list[str]:
        """The tip is the stage's latest recorded commit, or a reviewed merge of a proposal onto
        it; for a stage never deployed, a commit without a record (opened by a proposal)."""
        record_file = RECORD_FILE.format(stack=stack)
        at = f"{self.remote}:stages/{stack} ({sha[:12]})"
        latest = index.records.get(stack)  # the record the stage's newest record entry names
        if latest != sha:
            merged = merged_proposal(self.git, stack, sha)
            base = merged[0] if merged else sha
            if latest is None and self.git.show(base, record_file) is None:
                return []  # opened for its first proposal: nothing deployed, nothing recorded
            if merged and latest == base:
                sha, at = base, f"{at}, merging a proposal onto {base[:12]}"
        raw = self.git.show(sha, record_file)
        if raw is None:
            return [f"{at}: no {record_file}; not a stage record"]
        try:
            record = json.loads(raw)
            after = record.get("after") or {}
        except (ValueError, AttributeError):
            return [f"{at}: its record is not JSON"]
        if "proposal" in record:
            back = latest[:12] if latest else "the commit before it"
            return [
                f"{at}: carries a proposal but is not a merge commit of it onto the stage's"
                " record (a squash or rebase merge, or a proposal changed after it was"
                f" proposed); put stages/{stack} back to {back}, propose again and merge it"
                " with a merge commit"
            ]
        seq = after.get("seq")
        entry = tree.entry(seq) if isinstance(seq, int) and 0 <= seq < index.count else None
        if entry is None or entry.hash != after.get("hash"):
            return [
                f"{at}: records ledger entry {seq} ({str(after.get('hash'))[:12]}), which this"
                " ledger does not hold: the ledger was rewritten or truncated"
            ]
        if latest != sha:
            return [f"{at}: no ledger entry records this commit; the branch was moved by hand"]
        return []
