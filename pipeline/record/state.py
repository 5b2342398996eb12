"""The promotion state in git: one branch on the remote, ``stageline/state``, whose tree holds
the ledger (one file per entry under ``ledger/``: pipeline.record.layout),
``releases/<id>.json`` and ``locks/<pipeline>.json``.

Every write is a commit on that ref pushed with ``--force-with-lease`` (compare-and-swap): it
lands only if the remote still has the commit this writer read. A refused push re-reads the
remote and re-evaluates (is the pipeline lock still ours?) before trying again; a write that
cannot land raises ``RecordRefusedError`` and is never reported as done.

A ledger entry is appended by exactly one commit, whose message carries the entry's seq and
hash (``Stageline-Entry:``). Reading the state checks the first-parent history
(pipeline.record.audit): each commit adds only that one entry's file (so an edited, removed,
reordered or truncated entry, even with recomputed hashes, shows up as a commit that rewrites
history), releases are only ever added, and each stage branch's record must name an entry of
this ledger (or be a reviewed merge of a proposal onto such a record, waiting to be deployed:
see pipeline.record.proposal).
The clone remembers the newest state it verified (``refs/stageline/seen``): a remote whose
history no longer contains it was rewritten (force-pushed) or deleted. It also keeps what it
learnt from the entries it checked (pipeline.record.index), so the next check reads only the
commits after it, and the gates and ``status`` read no entry twice.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from pipeline.promote.ledger import Verification, chain_entry, entry_line
from pipeline.promote.release import (
    Release,
    release_json,
)
from pipeline.promote.state import (
    RecordRefusedError,
    StageChange,
    StateError,
    StateUnverifiedError,
    dump,
    stage_record_of,
)
from pipeline.record import index as saved
from pipeline.record.audit import ENTRY_TRAILER, Audit
from pipeline.record.checkout import CheckoutError, checkout, prune
from pipeline.record.checks import StateChecks
from pipeline.record.commits import read_history
from pipeline.record.git import Git, GitError
from pipeline.record.gitlock import GitLock
from pipeline.record.identity import Runner, host_roots, runner_of, without_host_paths
from pipeline.record.index import LedgerIndex
from pipeline.record.layout import (
    BLOCK,
    LEGACY_LEDGER,
    MIGRATION_TRAILER,
    SEAL_TRAILER,
    LedgerTree,
    entry_path,
    migration_changes,
    seal_changes,
)
from pipeline.record.proposal import Proposal, Review, merged_proposal, propose, review_of
from pipeline.record.refs import (
    ATTEMPTS,
    FETCHED,
    FETCHED_STAGES,
    SEEN_REF,
    STAGE_TRAILER,
    STATE_REF,
    backoff,
)
from pipeline.record.releases import GitReleases
from pipeline.record.stage import RECORD_FILE, STACK_FILE, pin_stack_file, stage_ref
from pipeline.record.trees import Known, commit_paths

# A branch, not a custom ref: git's receive.denyNonFastForwards and GitHub's rulesets protect
# branches only, and the state must be protected from force pushes.
_CODE_DIR = Path(__file__).resolve().parent.parent.parent  # the project this code runs from


class GitState(StateChecks):
    """The PromotionState of one clone, shared through ``remote``."""

    def __init__(
        self,
        repo: Path,
        remote: str = "origin",
        stale_after: timedelta = timedelta(hours=6),
    ) -> None:
        self.git = Git(repo)
        self.remote = remote
        self.stale_after = stale_after
        try:
            self.git_dir = Path(self.git.text("rev-parse", "--absolute-git-dir"))
            self.git.text("remote", "get-url", remote)
        except GitError as exc:
            raise StateError(
                f"{repo}: no git remote {remote!r} to keep the promotion state in ({exc});"
                " pass --state-dir DIR for a local-only state"
            ) from None
        self.index_file = self.git_dir / "stageline" / f"index-{os.getpid()}"
        self.tip: str | None = None
        self.index = LedgerIndex()  # what the ledger at ``tip`` holds (pipeline.record.index)
        self.index_path = self.git_dir / "stageline" / "ledger-index.json"
        self.saved: str | None = None  # the commit of the index saved in index_path
        self.trees: Known = {}  # the trees of the last commit this process made (trees.py)
        self.stage_tips: dict[str, str] = {}
        self.held: dict[str, str] = {}  # pipeline -> token of the lock this process holds
        self.synced = False
        self.releases = GitReleases(self)
        self.used: set[Path] = set()  # worktrees this process checked out (never pruned)
        self._runner: Runner | None = None

    @property
    def runner(self) -> Runner:
        """Who authors this process's state commits: the CI actor, else git's identity."""
        if self._runner is None:
            self._runner = runner_of(self.git)
        return self._runner

    # ------------------------------------------------------------------ reading

    def ensure(self) -> None:
        if not self.synced:
            self.sync()

    def fetch(self) -> None:
        try:
            self.git.run(
                "fetch",
                "--quiet",
                "--no-tags",
                "--prune",
                self.remote,
                f"+refs/heads/stageline/*:{FETCHED}*",
                f"+refs/heads/stages/*:{FETCHED_STAGES}*",
            )
        except GitError as exc:
            raise StateError(f"cannot read the promotion state from {self.remote}: {exc}") from None

    def sync(self) -> None:
        """Fetch the remote's state and stage branches and verify them; raise StateUnverifiedError
        (nothing adopted) when they do not verify."""
        problems, _ = self._load()
        if problems:
            raise StateUnverifiedError(
                f"the promotion state on {self.remote} does not verify:\n  " + "\n  ".join(problems)
            )

    def _load(self) -> tuple[list[str], LedgerIndex]:
        """Fetch and check; adopt what was fetched when it verifies. Returns the problems and
        the index of the fetched ledger."""
        self.fetch()
        tip = self.git.rev(FETCHED + "state")
        stages = self._fetched_stages()
        problems, index = self.check(tip, stages)
        if problems:
            return problems, index
        self.tip, self.stage_tips, self.index, self.synced = tip, stages, index, True
        if tip:
            self.git.run("update-ref", SEEN_REF, tip)
            if index.commit != self.saved:
                saved.save(self.index_path, index)
                self.saved = index.commit
        return [], index

    def _fetched_stages(self) -> dict[str, str]:
        out = self.git.text("for-each-ref", "--format=%(refname) %(objectname)", FETCHED_STAGES)
        stages = {}
        for line in out.splitlines():
            ref, sha = line.split()
            stages[ref.removeprefix(FETCHED_STAGES)] = sha
        return stages

    def read(self, path: str) -> bytes | None:
        return self.git.show(self.tip, path) if self.tip else None

    def list_dir(self, folder: str) -> list[str]:
        if not self.tip:
            return []
        out = self.git.text("ls-tree", "--name-only", f"{self.tip}:{folder.rstrip('/')}")
        return out.splitlines()

    def entries(self) -> list[dict[str, Any]]:
        """Every entry (the whole ledger, read from the tip's tree)."""
        self.ensure()
        return LedgerTree(self.git, self.tip, self.index.sealed, self.index.legacy).all()

    def decisive(self) -> list[dict[str, Any]]:
        """The entries the gates and ``status`` read (pipeline.promote.history.Decisive)."""
        self.ensure()
        return self.index.decisive.entries()

    def head(self) -> tuple[int, str | None]:
        """How many entries the ledger holds and the newest one's hash."""
        self.ensure()
        return self.index.count, self.index.last if self.index.count else None

    def ledger_stages(self) -> set[str]:
        """Every stage an entry names."""
        self.ensure()
        return set(self.index.stages)

    def recent(self, limit: int, stage: str | None = None) -> list[dict[str, Any]]:
        """The newest ``limit`` entries (of ``stage``), oldest first, read newest first by path
        in batches until enough are found (0: all of them)."""
        self.ensure()
        tree = LedgerTree(self.git, self.tip, self.index.sealed, self.index.legacy)
        stop = self.index.count
        found: list[dict[str, Any]] = []
        batch = max(limit, 100) if limit else stop
        while stop > 0 and (not limit or len(found) < limit):
            start = max(0, stop - batch)
            entries = tree.read(list(range(stop - 1, start - 1, -1)))
            found += [
                e for e in entries if e is not None and (not stage or e.get("stage") == stage)
            ]
            stop, batch = start, batch * 4
        return list(reversed(found[:limit] if limit else found))

    def verify(self) -> Verification:
        """Fetch and check the remote's history after what this clone verified before (all of
        it on a fresh clone); a state that verifies is adopted (ledger verify)."""
        problems, index = self._load()
        return Verification(index.count, problems)

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

    def stage_record(self, stack: str) -> dict[str, Any] | None:
        commit = self.deployed(stack)
        raw = self.git.show(commit, RECORD_FILE.format(stack=stack)) if commit else None
        if raw is None or commit is None:
            return None
        record: dict[str, Any] = json.loads(raw)
        pending = self.stage_tips.get(stack) != commit
        return {**record, "ref": f"stages/{stack}", "recordCommit": commit} | (
            {"pendingMerge": self.stage_tips[stack]} if pending else {}
        )

    # ------------------------------------------------------------------ checking

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
        audit = Audit(self.git, where, start)
        index = audit.run(read_history(self.git, tip, start.commit))
        index.commit = tip
        problems += audit.problems
        tree = LedgerTree(self.git, tip, index.sealed, index.legacy)
        for stack, sha in sorted(stages.items()):
            problems += self._check_stage(stack, sha, tree, index)
        return problems, index

    # ------------------------------------------------------------------ writing

    def write(
        self,
        changes: Mapping[str, bytes | None],
        message: str,
        stage: tuple[str, str] | None = None,
        entry: dict[str, Any] | None = None,
    ) -> bool:
        """Commit ``changes`` on the state and push it (with ``stage`` = (stack, commit), that
        stage branch too, atomically; ``entry``: the ledger entry it appends). A state still in
        the old layout is migrated first, by a commit of its own pushed with this one. False
        when the remote refused (it moved meanwhile)."""
        parent = self._migration() if self.index.legacy else self.tip
        parents = [parent] if parent else []
        commit = commit_paths(
            self.git,
            parent,
            changes,
            parents,
            self._signed(message),
            self.trees,
            self.runner.identity,
        )
        sealing = self._block_to_seal(entry["seq"]) if entry is not None else None
        if sealing is not None:
            commit = self._seal(commit, sealing)
        updates = {STATE_REF: (commit, self.tip)}
        if stage is not None:
            stack, stage_commit = stage
            updates[stage_ref(stack)] = (stage_commit, self.stage_tips.get(stack))
        try:
            refused = self.git.push(self.remote, updates)
        except GitError as exc:
            raise StateError(f"cannot record the promotion state on {self.remote}: {exc}") from None
        if refused is not None:
            return False
        if self.index.legacy:
            self.index.legacy, self.index.sealed = False, self.index.count // BLOCK * BLOCK
        self.tip, self.index.commit = commit, commit
        if entry is not None:
            self.index.add(entry)
        if sealing is not None:
            self.index.sealed += BLOCK
        moves = [f"update {FETCHED}state {commit}", f"update {SEEN_REF} {commit}"]
        if stage is not None:
            self.stage_tips[stage[0]] = stage[1]
            moves.append(f"update {FETCHED_STAGES}{stage[0]} {stage[1]}")
        self.git.run("update-ref", "--stdin", stdin=("\n".join(moves) + "\n").encode())
        return True

    def _migration(self) -> str:
        """The commit that moves the tip's ``ledger.jsonl`` into one file per entry."""
        assert self.tip is not None  # a legacy index has a commit
        text = self.git.show(self.tip, LEGACY_LEDGER) or b""
        message = (
            f"stageline: the ledger, one file per entry\n\n"
            f"{MIGRATION_TRAILER}: {self.index.count} {self.index.last}\n"
        )
        changes = migration_changes(text)
        return commit_paths(
            self.git, self.tip, changes, [self.tip], message, self.trees, self.runner.identity
        )

    def _block_to_seal(self, seq: int) -> int | None:
        """The oldest block not sealed yet when entry ``seq`` has made it full (one per append:
        a state whose writer did not seal catches up block by block), else None."""
        sealed = self.index.count // BLOCK * BLOCK if self.index.legacy else self.index.sealed
        return sealed // BLOCK if seq + 1 - sealed >= BLOCK else None

    def _seal(self, commit: str, block: int) -> str:
        """The commit after ``commit`` that seals ``block`` (all its entries are files)."""
        specs = [f"{commit}:{entry_path(block * BLOCK + k)}" for k in range(BLOCK)]
        found = self.git.objects(specs)
        lines = [found[spec] or b"" for spec in specs]
        message = f"stageline: seal entries {block * BLOCK} to {block * BLOCK + BLOCK - 1}\n\n"
        message += f"{SEAL_TRAILER}: {block}\n"
        return commit_paths(
            self.git,
            commit,
            seal_changes(block, lines),
            [commit],
            message,
            self.trees,
            self.runner.identity,
        )

    def _still_ours(self) -> None:
        """After a refused push and a re-read: stop if a lock this process held is gone."""
        for pipeline, token in self.held.items():
            raw = self.read(f"locks/{pipeline}.json")
            owner = json.loads(raw) if raw else {}
            if owner.get("token") != token:
                who = ", ".join(f"{k} {owner.get(k)}" for k in ("host", "pid", "started"))
                raise RecordRefusedError(
                    f"{self.remote}: the {pipeline} pipeline lock is no longer this promotion's"
                    f" ({who or 'released'}); stopped, nothing more recorded"
                )

    def append(self, fields: Mapping[str, Any], stage: StageChange | None = None) -> dict[str, Any]:
        """Append one ledger entry (with a stage change: and move that stage's branch) in one
        atomic push; on refusal re-read, re-check the lock and re-chain onto the new tip."""
        self.ensure()
        # No host paths in the shared record (a runner's checkout or temporary directory).
        fields = without_host_paths(fields, host_roots(self.git.repo, self.git_dir, _CODE_DIR))
        for attempt in range(ATTEMPTS):
            last = self.index.head()
            record_fields = dict(fields)
            stage_commit = None
            if stage is not None:
                stage_commit = self._stage_commit(stage, last)
                record_fields["record"] = stage_commit
            entry = chain_entry(record_fields, last)
            message = self._message(entry, stage_commit)
            pushed = self.write(
                {entry_path(entry["seq"]): entry_line(entry)},
                message,
                (stage.stack, stage_commit) if stage and stage_commit else None,
                entry,
            )
            if pushed:
                return entry
            backoff(attempt)
            self.sync()
            self._still_ours()
        raise RecordRefusedError(f"{self.remote}: refused {ATTEMPTS} times; nothing more recorded")

    @staticmethod
    def _message(entry: Mapping[str, Any], stage_commit: str | None) -> str:
        what = " ".join(
            str(entry[k]) for k in ("release", "stage", "step", "status", "outcome") if entry.get(k)
        )
        lines = [f"stageline: {what}", "", f"{ENTRY_TRAILER}: {entry['seq']} {entry['hash']}"]
        if stage_commit:
            lines.append(f"{STAGE_TRAILER}: {entry.get('stage')} {stage_commit}")
        return "\n".join(lines) + "\n"

    def save_release(self, release: Release) -> tuple[Release, bool]:
        path = f"releases/{release.id}.json"
        for attempt in range(ATTEMPTS):
            if attempt:
                backoff(attempt)
            self.sync()
            if self.read(path) is not None:
                return self.releases.get(release.id), False
            if self.write({path: release_json(release).encode()}, f"stageline: {release.id}"):
                return release, True
        raise RecordRefusedError(f"{self.remote}: refused {ATTEMPTS} times; release not recorded")

    def lock(self, pipeline: str) -> GitLock:
        return GitLock(self, pipeline, self.stale_after)

    # ------------------------------------------------------------------ stage records

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
        last: Mapping[str, Any] | None,
        extra: Mapping[str, Any] | None = None,
    ) -> dict[str, bytes]:
        """The two files a stage record changes in ``base``: the stack file pinning the
        release and every digest, and the record naming them (plus ``extra`` fields)."""
        stack_path = STACK_FILE.format(stack=stage.stack)
        text = self.git.show(base, stack_path)
        if text is None:
            raise StateError(f"commit {base[:12]} has no {stack_path}")
        record = stage_record_of(stage, last) | {"commit": base, **(extra or {})}
        return {
            stack_path: pin_stack_file(text, stage.release, stage.images),
            RECORD_FILE.format(stack=stage.stack): dump(record).encode(),
        }

    def propose(self, stage: StageChange) -> Proposal:
        return propose(self, stage)

    def review(
        self,
        stack: str,
        release: Release,
        forge: tuple[str, str] | None = None,
        rollback: bool = False,
    ) -> Review:
        return review_of(
            self, stack, release.id, release.images, release.commit, forge, rollback=rollback
        )

    def _stage_commit(self, stage: StageChange, last: Mapping[str, Any] | None) -> str:
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

    def _signed(self, message: str) -> str:
        """The CI run that wrote a commit, as a trailer (its author is the run's actor)."""
        run = self.runner.run
        return f"{message.rstrip()}\nStageline-Run: {run}\n" if run else message
