"""The git state as a store: fetch and verify the remote's ``stageline/state`` branch, read its
tree, and write to it by compare-and-swap (a commit pushed with ``--force-with-lease``, which lands
only if the remote still has the commit this writer read). Moved from pipeline.record.state;
``GitState`` builds the ledger, the releases and the lock on it."""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path

from pipeline.naming import scratch_dir
from pipeline.promote.entries import LedgerEntry
from pipeline.promote.state import StateError, StateUnverifiedError
from pipeline.record import index as saved
from pipeline.record.checks import StateChecks
from pipeline.record.git import Git, GitError
from pipeline.record.identity import Runner, runner_of
from pipeline.record.index import LedgerIndex
from pipeline.record.layout import (
    BLOCK,
    LEGACY_LEDGER,
    entry_path,
    migration_changes,
    seal_changes,
)
from pipeline.record.refs import (
    COMMIT_PREFIX,
    FETCHED,
    FETCHED_STAGES,
    MIGRATION_TRAILER,
    SEAL_TRAILER,
    SEEN_REF,
    STATE_BRANCHES,
    STATE_REF,
)
from pipeline.record.stage import stage_ref
from pipeline.record.trees import Known, commit_paths


class GitStore(StateChecks):
    """One clone's copy of the state on ``remote``: what it verified; compare-and-swap writes."""

    def __init__(
        self,
        repo: Path,
        remote: str = "origin",
        stale_after: timedelta = timedelta(hours=6),
    ) -> None:
        self.git = Git(repo)
        self.objects = self.git  # where new state objects are written (pipeline.record.bare)
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
        self.index_file = scratch_dir(self.git_dir) / f"index-{os.getpid()}"
        self.tip: str | None = None
        self.index = LedgerIndex()  # what the ledger at ``tip`` holds (pipeline.record.index)
        self.index_path = scratch_dir(self.git_dir) / "ledger-index.json"
        self.saved: str | None = None  # the commit of the index saved in index_path
        self.trees: Known = {}  # the trees of the last commit this process made (trees.py)
        self.stage_tips: dict[str, str] = {}
        self.held: dict[str, str] = {}  # pipeline -> token of the lock this process holds
        self.synced = False
        self.used: set[Path] = set()  # worktrees this process checked out (never pruned)
        self._runner: Runner | None = None

    @property
    def runner(self) -> Runner:
        """Who authors this process's state commits: the CI actor, else git's identity."""
        if self._runner is None:
            self._runner = runner_of(self.git)
        return self._runner

    def scratch_dir(self) -> Path:
        """Local scratch of this clone's promotions: ``<git dir>/<project>``."""
        return scratch_dir(self.git_dir)

    def started_by(self) -> Mapping[str, str | None] | None:
        """The runner, as a promotion's start entry records it."""
        return self.runner.to_record()

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
                f"+{STATE_BRANCHES}*:{FETCHED}*",
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
        tip, stages = self.tip, self.stage_tips
        if self._refresh():
            tip, stages = self.git.rev(FETCHED + "state"), self._fetched_stages()
        if not self._moved(tip, stages):
            self._remember()  # what this process wrote since, for the next process
            return [], self.index
        problems, index = self.check(tip, stages)
        if problems:
            return problems, index
        self.tip, self.stage_tips, self.index, self.synced = tip, stages, index, True
        if tip:
            self.git.run("update-ref", SEEN_REF, tip)
        self._remember()
        return [], index

    def _refresh(self) -> bool:
        """Bring this clone's copy of the remote's refs up to date (a fetch); False when the
        remote is known not to have moved since this process verified it (then nothing is
        fetched or checked again)."""
        self.fetch()
        return True

    def _moved(self, tip: str | None, stages: Mapping[str, str]) -> bool:
        """Whether the state (``tip``, ``stages``) differs from what this process verified
        last (or wrote itself): the same commits verify as they did, so only a move is
        checked (a rewrite, a force push or a deleted ref is a move)."""
        return not self.synced or tip != self.tip or dict(stages) != self.stage_tips

    def _remember(self) -> None:
        """Save the index of what this process verified or wrote, for the next process."""
        if self.index.commit and self.index.commit != self.saved:
            saved.save(self.index_path, self.index)
            self.saved = self.index.commit

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
        # A path under the tip, not ``tip:folder``: a state that never stored a release has no
        # folder, which is an empty listing, not an error.
        prefix = folder.rstrip("/") + "/"
        out = self.git.text("ls-tree", "--name-only", self.tip, "--", prefix)
        return [line.removeprefix(prefix) for line in out.splitlines()]

    # ------------------------------------------------------------------ writing

    def write(
        self,
        changes: Mapping[str, bytes | None],
        message: str,
        stage: tuple[str, str] | None = None,
        entry: LedgerEntry | None = None,
    ) -> bool:
        """Commit ``changes`` on the state and push it (with ``stage`` = (stack, commit), that
        stage branch too, atomically; ``entry``: the ledger entry it appends). A state still in
        the old layout is migrated first, by a commit of its own pushed with this one. False
        when the remote refused (it moved meanwhile)."""
        parent = self._migration() if self.index.legacy else self.tip
        parents = [parent] if parent else []
        commit = commit_paths(
            self.objects,
            parent,
            changes,
            parents,
            self._signed(message),
            self.trees,
            self.runner.identity,
        )
        sealing = self._block_to_seal(entry.seq) if entry is not None else None
        if sealing is not None:
            commit = self._seal(commit, sealing)
        updates = {STATE_REF: (commit, self.tip)}
        if stage is not None:
            stack, stage_commit = stage
            updates[stage_ref(stack)] = (stage_commit, self.stage_tips.get(stack))
        try:
            refused = self._publish(updates)
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

    def _publish(self, updates: Mapping[str, tuple[str, str | None]]) -> str | None:
        """Move the remote's refs, each held to its expected value (compare-and-swap, all or
        none): a push. None when every update landed, else the refusal in git's words."""
        return self.git.push(self.remote, updates)

    def _migration(self) -> str:
        """The commit that moves the tip's ``ledger.jsonl`` into one file per entry."""
        assert self.tip is not None  # a legacy index has a commit
        text = self.git.show(self.tip, LEGACY_LEDGER) or b""
        message = (
            f"{COMMIT_PREFIX}the ledger, one file per entry\n\n"
            f"{MIGRATION_TRAILER}: {self.index.count} {self.index.last}\n"
        )
        changes = migration_changes(text)
        return commit_paths(
            self.objects, self.tip, changes, [self.tip], message, self.trees, self.runner.identity
        )

    def _block_to_seal(self, seq: int) -> int | None:
        """The oldest block not sealed yet when entry ``seq`` has made it full (one per append:
        a state whose writer did not seal catches up block by block), else None."""
        sealed = self.index.count // BLOCK * BLOCK if self.index.legacy else self.index.sealed
        return sealed // BLOCK if seq + 1 - sealed >= BLOCK else None

    def _seal(self, commit: str, block: int) -> str:
        """The commit after ``commit`` that seals ``block`` (all its entries are files)."""
        specs = [f"{commit}:{entry_path(block * BLOCK + k)}" for k in range(BLOCK)]
        found = self.objects.objects(specs)
        lines = [found[spec] or b"" for spec in specs]
        message = f"{COMMIT_PREFIX}seal entries {block * BLOCK} to {block * BLOCK + BLOCK - 1}\n\n"
        message += f"{SEAL_TRAILER}: {block}\n"
        return commit_paths(
            self.objects,
            commit,
            seal_changes(block, lines),
            [commit],
            message,
            self.trees,
            self.runner.identity,
        )

    def _signed(self, message: str) -> str:
        """The CI run that wrote a commit, as a trailer (its author is the run's actor)."""
        run = self.runner.run
        return f"{message.rstrip()}\nStageline-Run: {run}\n" if run else message
