"""The promotion state in git: one branch on the remote, ``stageline/state``, whose tree holds
``ledger.jsonl``, ``releases/<id>.json`` and ``locks/<pipeline>.json``.

Every write is a commit on that ref pushed with ``--force-with-lease`` (compare-and-swap): it
lands only if the remote still has the commit this writer read. A refused push re-reads the
remote and re-evaluates (is the pipeline lock still ours?) before trying again; a write that
cannot land raises ``RecordRefusedError`` and is never reported as done.

A ledger entry is appended by exactly one commit, whose message carries the entry's seq and
hash (``Stageline-Entry:``). Reading the state checks the whole first-parent history: each
commit's ledger blob must be its parent's plus that one entry (so an edited, removed, reordered
or truncated entry, even with recomputed hashes, shows up as a commit that rewrites history),
releases are only ever added, and each stage branch's record must name an entry of this ledger
(or be a reviewed merge of a proposal onto such a record, waiting to be deployed: see
pipeline.record.proposal).
The clone remembers the newest state it verified (``refs/stageline/seen``): a remote whose
history no longer contains it was rewritten (force-pushed) or deleted.
"""

from __future__ import annotations

import json
import os
import random
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from pipeline.promote.ledger import Verification, chain_entry, entry_line, verify_chain
from pipeline.promote.lock import LockHeldError, is_stale, lock_owner
from pipeline.promote.release import (
    Release,
    ReleaseError,
    parse_release,
    release_json,
    unknown_release,
)
from pipeline.promote.state import (
    RecordRefusedError,
    StageChange,
    StateError,
    StateUnverifiedError,
    dump,
    stage_record_of,
)
from pipeline.record.checkout import CheckoutError, checkout, prune
from pipeline.record.git import Git, GitError, blob_id
from pipeline.record.identity import Runner, host_roots, runner_of, without_host_paths
from pipeline.record.proposal import Proposal, Review, merged_proposal, propose, review_of
from pipeline.record.stage import RECORD_FILE, STACK_FILE, pin_stack_file, stage_ref

# A branch, not a custom ref: git's receive.denyNonFastForwards and GitHub's rulesets protect
# branches only, and the state must be protected from force pushes.
STATE_REF = "refs/heads/stageline/state"
FETCHED = "refs/stageline/remote/"  # this clone's copy of the remote's stageline/* branches
FETCHED_STAGES = "refs/stageline/remote-stages/"  # ... and of its refs/heads/stages/*
SEEN_REF = "refs/stageline/seen"  # the newest state this clone verified (never pushed)
LEDGER = "ledger.jsonl"
ENTRY_TRAILER = "Stageline-Entry"
STAGE_TRAILER = "Stageline-Stage"
ATTEMPTS = 20
_CODE_DIR = Path(__file__).resolve().parent.parent.parent  # the project this code runs from


def backoff(attempt: int) -> None:
    """Jittered exponential wait after a refused push, so two busy writers do not livelock."""
    time.sleep(random.uniform(0, min(2.0, 0.05 * 2**attempt)))


@dataclass
class _Commit:
    sha: str
    message: str
    # path -> (status, old blob, new blob)
    changes: dict[str, tuple[str, str, str]] = field(default_factory=dict)

    def blobs(self, path: str) -> tuple[str, ...]:
        change = self.changes.get(path)
        return change[1:] if change else ()

    def trailer(self, key: str) -> list[str]:
        prefix = f"{key}: "
        lines = self.message.splitlines()
        return [line[len(prefix) :] for line in lines if line.startswith(prefix)]


def _trailer_of(line: str) -> str:
    try:
        entry = json.loads(line)
        return f"{entry['seq']} {entry['hash']}"
    except (ValueError, KeyError, TypeError):
        return "?"


def _lines(text: bytes) -> list[str]:
    return [line for line in text.decode("utf-8", errors="replace").split("\n")[:-1] if line]


class GitReleases:
    """The releases in the state's tree (read-only view; ``GitState.save_release`` adds)."""

    def __init__(self, state: GitState) -> None:
        self.state = state

    def get(self, release_id: str) -> Release:
        self.state.ensure()
        where = f"{self.state.remote}:{STATE_REF}:releases/{release_id}.json"
        raw = self.state.read(f"releases/{release_id}.json")
        if raw is None:
            raise unknown_release(where, release_id, self.all())
        return parse_release(raw.decode("utf-8"), where, release_id)

    def all(self) -> list[Release]:
        self.state.ensure()
        found = []
        for name in self.state.list_dir("releases/"):
            if not name.endswith(".json"):
                continue
            try:
                found.append(self.get(name.removesuffix(".json")))
            except ReleaseError:
                continue
        return sorted(found, key=lambda r: (r.created, r.id))


class GitLock:
    """The pipeline lock as ``locks/<pipeline>.json`` in the state: taken and released by a
    compare-and-swap push, so two runners on two machines cannot both hold it."""

    def __init__(self, state: GitState, pipeline: str, stale_after: timedelta) -> None:
        self.state = state
        self.pipeline = pipeline
        self.path = f"locks/{pipeline}.json"
        self.stale_after = stale_after
        self.taken_over: dict[str, Any] | None = None
        self.token = uuid.uuid4().hex

    @property
    def where(self) -> str:
        return f"{self.state.remote}:{STATE_REF}:{self.path}"

    def current(self) -> dict[str, Any]:
        raw = self.state.read(self.path)
        try:
            owner: dict[str, Any] = json.loads(raw) if raw else {}
        except ValueError:
            owner = {"unreadable": True}
        return owner

    def acquire(self) -> None:
        owner = {**lock_owner(), "token": self.token}
        for attempt in range(ATTEMPTS):
            if attempt:
                backoff(attempt)
            self.state.sync()
            current = self.current()
            if current and not is_stale(current, self.stale_after):
                raise LockHeldError(self.where, current)
            self.taken_over = current or None
            message = f"stageline: lock {self.pipeline} ({owner['host']} pid {owner['pid']})"
            if self.state.write({self.path: dump(owner).encode()}, message):
                self.state.held[self.pipeline] = self.token
                return
        raise LockHeldError(self.where, self.current())

    def release(self) -> None:
        if self.state.held.pop(self.pipeline, None) is None:
            return
        for attempt in range(ATTEMPTS):
            if self.current().get("token") != self.token:
                return  # taken over meanwhile: not ours to remove
            if self.state.write({self.path: None}, f"stageline: unlock {self.pipeline}"):
                return
            backoff(attempt)
            self.state.sync()


class GitState:
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
        self.text = b""
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
        self.fetch()
        tip = self.git.rev(FETCHED + "state")
        stages = self._fetched_stages()
        problems = self.check(tip, stages)
        if problems:
            raise StateUnverifiedError(
                f"the promotion state on {self.remote} does not verify:\n  " + "\n  ".join(problems)
            )
        self.tip, self.stage_tips, self.synced = tip, stages, True
        self.text = (self.git.show(tip, LEDGER) or b"") if tip else b""
        if tip:
            self.git.run("update-ref", SEEN_REF, tip)

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
        self.ensure()
        return [json.loads(line) for line in _lines(self.text)]

    def verify(self) -> Verification:
        """Fetch and check the remote's whole history (ledger verify)."""
        self.fetch()
        tip = self.git.rev(FETCHED + "state")
        problems = self.check(tip, self._fetched_stages())
        count = len(_lines(self.git.show(tip, LEDGER) or b"")) if tip else 0
        return Verification(count, problems)

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

    def _history(self, tip: str, since: str | None = None) -> list[_Commit]:
        """First-parent commits up to ``tip`` (after ``since``, when given), oldest first."""
        raw = self.git.run(
            "log",
            "--first-parent",
            "--reverse",
            "--root",
            "--raw",
            "--no-renames",
            "--no-abbrev",
            "--diff-merges=first-parent",
            "--format=%x01%H%x02%B%x03",
            f"{since}..{tip}" if since else tip,
        ).stdout.decode("utf-8", errors="replace")
        commits = []
        for chunk in raw.split("\x01")[1:]:
            sha, _, rest = chunk.partition("\x02")
            message, _, raw_changes = rest.partition("\x03")
            commit = _Commit(sha.strip(), message)
            for line in raw_changes.strip().splitlines():
                meta, _, path = line.partition("\t")
                parts = meta.split()
                if len(parts) == 5:
                    commit.changes[path] = (parts[4], parts[2], parts[3])
            commits.append(commit)
        return commits

    def check(self, tip: str | None, stages: Mapping[str, str]) -> list[str]:
        """Every way the state at ``tip`` (with these stage branches) fails to verify."""
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
            return problems
        text = self.git.show(tip, LEDGER) or b""
        lines = _lines(text)
        entries, chain = verify_chain(lines, f"{where}:{LEDGER}")
        problems += chain
        problems += self._check_history(where, tip, seen if seen and not problems else None, lines)
        named = self._named_records(entries)
        for stack, sha in sorted(stages.items()):
            problems += self._check_stage(stack, sha, entries, named.get(stack, []))
        return problems

    def _check_history(
        self, where: str, tip: str, since: str | None, lines: list[str]
    ) -> list[str]:
        """The commits after ``since`` (what this clone verified before; all of them for a new
        clone). Fast path: each ledger change must be the blob of the final ledger's next
        prefix, computed here without reading any blob; only when one is not are the blobs
        read, to say which commit rewrote what."""
        history = self._history(tip, since)
        start = len(_lines(self.git.show(since, LEDGER) or b"")) if since else 0
        ledger_changes = [c for c in history if LEDGER in c.changes]
        expected = [
            blob_id("".join(line + "\n" for line in lines[: start + k + 1]).encode())
            for k in range(min(len(ledger_changes), len(lines) - start))
        ]
        fast = len(expected) == len(ledger_changes) == len(lines) - start and all(
            c.changes[LEDGER][0] in ("A", "M") and c.changes[LEDGER][2] == blob
            for c, blob in zip(ledger_changes, expected, strict=True)
        )
        contents: Mapping[str, bytes] = {}
        if not fast:
            contents = self.git.blobs(
                [b for c in history for b in c.blobs(LEDGER) if b and set(b) != {"0"}]
            )
        trailers = iter(_trailer_of(line) for line in lines[start:]) if fast else iter(())
        problems: list[str] = []
        for commit in history:
            at = f"{where}: commit {commit.sha[:12]}"
            known = next(trailers) if fast and LEDGER in commit.changes else None
            problems += self._check_commit(at, commit, contents, known)
        return problems

    @staticmethod
    def _check_commit(
        at: str, commit: _Commit, contents: Mapping[str, bytes], known: str | None
    ) -> list[str]:
        """One state commit: the ledger only grows by the one entry its trailer names,
        releases are only added, nothing else but locks changes. ``known``: the trailer of
        the entry this commit is already known to append (the fast path)."""
        problems: list[str] = []
        trailers = commit.trailer(ENTRY_TRAILER)
        for path, (status, old, new) in commit.changes.items():
            if path == LEDGER and known is not None:
                if trailers != [known]:
                    problems.append(f"{at}: {ENTRY_TRAILER} does not name the entry it adds")
            elif path == LEDGER:
                if status == "D":
                    problems.append(f"{at}: deletes {LEDGER} (the ledger was deleted)")
                    continue
                before = contents.get(old, b"") if status != "A" else b""
                after = contents.get(new, b"")
                line = after[len(before) :]
                if not after.startswith(before) or line.count(b"\n") != 1:
                    problems.append(
                        f"{at}: changes {LEDGER} other than by appending one entry"
                        " (an entry was edited, removed, reordered or truncated)"
                    )
                    continue
                try:
                    entry = json.loads(line)
                    expected = [f"{entry['seq']} {entry['hash']}"]
                except (ValueError, KeyError, TypeError):
                    expected = []
                if trailers != expected:
                    problems.append(f"{at}: {ENTRY_TRAILER} does not name the entry it adds")
            elif path.startswith("releases/"):
                if status != "A":
                    problems.append(f"{at}: {path}: a release is never changed or removed")
            elif not path.startswith("locks/"):
                problems.append(f"{at}: {path}: not part of the promotion state")
        if LEDGER not in commit.changes and trailers:
            problems.append(f"{at}: names an entry but does not add one")
        return problems

    @staticmethod
    def _named_records(entries: list[dict[str, Any]]) -> dict[str, list[str]]:
        named: dict[str, list[str]] = {}
        for entry in entries:
            if entry.get("record"):
                named.setdefault(str(entry.get("stage")), []).append(str(entry["record"]))
        return named

    def _check_stage(
        self, stack: str, sha: str, entries: list[dict[str, Any]], named: list[str]
    ) -> list[str]:
        """The tip is the stage's latest recorded commit, or a reviewed merge of a proposal onto
        it; for a stage never deployed, a commit without a record (opened by a proposal)."""
        record_file = RECORD_FILE.format(stack=stack)
        at = f"{self.remote}:stages/{stack} ({sha[:12]})"
        if not named or named[-1] != sha:
            merged = merged_proposal(self.git, stack, sha)
            base = merged[0] if merged else sha
            if not named and self.git.show(base, record_file) is None:
                return []  # opened for its first proposal: nothing deployed, nothing recorded
            if merged and named and named[-1] == base:
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
            back = named[-1][:12] if named else "the commit before it"
            return [
                f"{at}: carries a proposal but is not a merge commit of it onto the stage's"
                " record (a squash or rebase merge, or a proposal changed after it was"
                f" proposed); put stages/{stack} back to {back}, propose again and merge it"
                " with a merge commit"
            ]
        seq = after.get("seq")
        if (
            not isinstance(seq, int)
            or seq >= len(entries)
            or entries[seq]["hash"] != after.get("hash")
        ):
            return [
                f"{at}: records ledger entry {seq} ({str(after.get('hash'))[:12]}), which this"
                " ledger does not hold: the ledger was rewritten or truncated"
            ]
        if not named or named[-1] != sha:
            return [f"{at}: no ledger entry records this commit; the branch was moved by hand"]
        return []

    # ------------------------------------------------------------------ writing

    def write(
        self,
        changes: Mapping[str, bytes | None],
        message: str,
        stage: tuple[str, str] | None = None,
    ) -> bool:
        """Commit ``changes`` on the state and push it (with ``stage`` = (stack, commit), that
        stage branch too, atomically). False when the remote refused (it moved meanwhile)."""
        commit = self.git.commit_tree(
            self.tip,
            changes,
            [self.tip] if self.tip else [],
            self._signed(message),
            self.index_file,
            self.runner.identity,
        )
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
        self.tip = commit
        if LEDGER in changes:
            self.text = changes[LEDGER] or b""
        moves = [f"update {FETCHED}state {commit}", f"update {SEEN_REF} {commit}"]
        if stage is not None:
            self.stage_tips[stage[0]] = stage[1]
            moves.append(f"update {FETCHED_STAGES}{stage[0]} {stage[1]}")
        self.git.run("update-ref", "--stdin", stdin=("\n".join(moves) + "\n").encode())
        return True

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
            entries = self.entries()
            last = entries[-1] if entries else None
            record_fields = dict(fields)
            stage_commit = None
            if stage is not None:
                stage_commit = self._stage_commit(stage, last)
                record_fields["record"] = stage_commit
            entry = chain_entry(record_fields, last)
            message = self._message(entry, stage_commit)
            ledger = self.text + entry_line(entry)
            pushed = self.write(
                {LEDGER: ledger},
                message,
                (stage.stack, stage_commit) if stage and stage_commit else None,
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
