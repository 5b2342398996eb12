"""Two tamper checks of the git state: where the audit of the remote's history starts (the
newest state this clone verified) and each stage branch against the entry that moved it
(moved from pipeline.record.state, whose GitState inherits them; ``GitState.check`` runs
them)."""

from __future__ import annotations

import json
from pathlib import Path

from pipeline.record import index as saved
from pipeline.record.git import Git
from pipeline.record.index import LedgerIndex
from pipeline.record.layout import LedgerTree
from pipeline.record.proposal import merged_proposal
from pipeline.record.stage import RECORD_FILE


class StateChecks:
    """What GitState checks when it reads the remote (its attributes, declared here)."""

    git: Git
    remote: str
    index: LedgerIndex
    index_path: Path
    saved: str | None

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
        if entry is None or entry.get("hash") != after.get("hash"):
            return [
                f"{at}: records ledger entry {seq} ({str(after.get('hash'))[:12]}), which this"
                " ledger does not hold: the ledger was rewritten or truncated"
            ]
        if latest != sha:
            return [f"{at}: no ledger entry records this commit; the branch was moved by hand"]
        return []
