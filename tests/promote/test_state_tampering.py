"""Tampering with the shared state is detected, even with every hash recomputed.

Each case promotes to dev and test from clone A, then someone with push access rewrites the
remote's ``stageline/state`` (as a new commit on top, or by force-pushing a rebuilt
history); a fresh clone's ``ledger verify`` fails naming the problem, and a promotion from it
is refused with nothing deployed. Clone A, which verified the state before, also notices.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pipeline.cli import main
from pipeline.definition import load_pipeline
from pipeline.promote.ledger import chain_entry, entry_hash, entry_line
from pipeline.promote.orchestrator import EXIT_INVALID, EXIT_OK, Orchestrator, Request
from pipeline.promote.release import make_release
from pipeline.record.git import Git
from pipeline.record.layout import LEDGER_DIR, LedgerTree, entry_path
from pipeline.record.state import ENTRY_TRAILER, STATE_REF, GitState
from tests.promote.conftest import images
from tests.promote.fakes import FileDeployer, state_verifier
from tests.promote.gitrepos import clone, git, seed_remote
from tests.promote.typed_entries import stored

Entries = list[dict[str, Any]]


@pytest.fixture(scope="module")
def promoted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A remote (and clone ``a``) after promoting one release to dev and test."""
    base = tmp_path_factory.mktemp("promoted")
    remote = seed_remote(base)
    a = clone(remote, base / "a")
    state = GitState(a)
    release, _ = state.save_release(make_release(a, images("e")))
    cloud = FileDeployer(a / "stacks", base / "cloud")
    orchestrator = Orchestrator(
        cloud, load_pipeline(a / "stacks"), state,
        verify=state_verifier(cloud),
    )  # fmt: skip
    assert orchestrator.promote(Request(release.id, "test", auto=True)).code == EXIT_OK
    return base


@pytest.fixture
def world(promoted: Path, tmp_path: Path) -> tuple[Path, Path]:
    """A private copy of the remote and of clone ``a`` (which has verified the state)."""
    shutil.copytree(promoted / "remote.git", tmp_path / "remote.git")
    shutil.copytree(promoted / "a", tmp_path / "a")
    git(tmp_path / "a", "remote", "set-url", "origin", str(tmp_path / "remote.git"))
    return tmp_path / "remote.git", tmp_path / "a"


def rechain(entries: Entries) -> Entries:
    """Recompute seq, prev and hash of every entry, as a forger would."""
    out: Entries = []
    for entry in entries:
        fields = {k: v for k, v in entry.items() if k not in ("seq", "prev", "hash", "time")}
        new = chain_entry(fields, out[-1] if out else None)
        new["time"] = entry["time"]
        new["hash"] = entry_hash(new)
        out.append(new)
    return out


def ledger_of(remote: Path) -> Entries:
    return stored(LedgerTree(Git(remote), git(remote, "rev-parse", STATE_REF).strip()).all())


def files(entries: Entries) -> dict[str, bytes | None]:
    """The ledger's entry files holding ``entries`` (one file per entry, by position)."""
    return {entry_path(k): entry_line(e) for k, e in enumerate(entries)}


def commit_on_top(remote: Path, tmp: Path, entries: Entries | None) -> None:
    """A new commit on the state ref whose ledger holds ``entries`` (None: every entry file
    removed), as someone with push access who knows the layout would write it."""
    repo = Git(remote)
    tip = repo.text("rev-parse", STATE_REF)
    listed = repo.text("ls-tree", "-r", "--name-only", tip, "--", LEDGER_DIR).splitlines()
    changes: dict[str, bytes | None] = dict.fromkeys(listed)
    changes.update(files(entries or []))
    commit = repo.commit_tree(tip, changes, [tip], "fix the ledger\n", tmp / "index")
    repo.run("update-ref", STATE_REF, commit)


def rebuild_history(remote: Path, tmp: Path, entries: Entries) -> None:
    """Force the state ref to a history built from scratch: one proper commit per entry."""
    repo = Git(remote)
    tip = repo.text("rev-parse", STATE_REF)
    releases = {
        f"releases/{name}": repo.run("show", f"{tip}:releases/{name}").stdout
        for name in repo.text("ls-tree", "--name-only", f"{tip}:releases").splitlines()
    }
    parent: str | None = None
    for k in range(len(entries)):
        changes: dict[str, bytes | None] = {entry_path(k): entry_line(entries[k])}
        if parent is None:
            changes.update(releases)
        trailer = f"{ENTRY_TRAILER}: {entries[k]['seq']} {entries[k]['hash']}"
        parent = repo.commit_tree(
            parent, changes, [parent] if parent else [], f"entry\n\n{trailer}\n", tmp / "index"
        )
    assert parent is not None
    repo.run("update-ref", STATE_REF, parent)


def edit(entries: Entries) -> Entries:
    verify = next(e for e in entries if e.get("step") == "verify" and e["stage"] == "dev")
    verify["detail"] = "forged"
    return rechain(entries)


def remove(entries: Entries) -> Entries:
    return rechain([e for e in entries if e["seq"] != 3])


def reorder(entries: Entries) -> Entries:
    entries[2], entries[3] = entries[3], entries[2]
    return rechain(entries)


def forge_verification(entries: Entries) -> Entries:
    """Append a made-up "verified in staging" entry, chained with a correct hash."""
    last = entries[-1]
    fields = {k: v for k, v in last.items() if k not in ("seq", "prev", "hash", "time")}
    fields |= {"stage": "staging", "step": "verify", "status": "completed", "kind": "forward"}
    return [*entries, chain_entry(fields, last)]


def truncate(entries: Entries) -> Entries:
    return entries[:-5]


Case = Callable[[Path, Path], None]


def on_top(change: Callable[[Entries], Entries]) -> Case:
    return lambda remote, tmp: commit_on_top(remote, tmp, change(ledger_of(remote)))


def rebuilt(change: Callable[[Entries], Entries]) -> Case:
    return lambda remote, tmp: rebuild_history(remote, tmp, change(ledger_of(remote)))


def rewind(remote: Path, tmp: Path) -> None:
    git(remote, "update-ref", STATE_REF, f"{STATE_REF}~12")


def delete_file(remote: Path, tmp: Path) -> None:
    commit_on_top(remote, tmp, None)


def delete_ref(remote: Path, tmp: Path) -> None:
    git(remote, "update-ref", "-d", STATE_REF)


CASES: dict[str, tuple[Case, str]] = {
    "edited": (on_top(edit), "other than by appending one entry"),
    "removed": (on_top(remove), "other than by appending one entry"),
    "reordered": (on_top(reorder), "other than by appending one entry"),
    "truncated": (on_top(truncate), "other than by appending one entry"),
    "forged entry appended": (on_top(forge_verification), "does not name the entry it adds"),
    "forged history": (rebuilt(edit), "which this ledger does not hold"),
    "removed, history rebuilt": (rebuilt(remove), "which this ledger does not hold"),
    "rewound tail": (rewind, "which this ledger does not hold"),
    "ledger file deleted": (delete_file, "the ledger was deleted"),
    "ledger ref deleted": (delete_ref, "the ledger was deleted"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_tampering_is_detected(
    world: tuple[Path, Path], tmp_path: Path, case: str, capsys: pytest.CaptureFixture[str]
) -> None:
    remote, a = world
    release = GitState(a).releases.all()[0].id
    fresh = clone(remote, tmp_path / "fresh")
    assert main(["ledger", "verify", "--repo", str(fresh)]) == EXIT_OK
    tamper, says = CASES[case]
    tamper(remote, tmp_path)
    capsys.readouterr()

    fresh = clone(remote, tmp_path / "fresh-after")
    assert main(["ledger", "verify", "--repo", str(fresh)]) == 1
    err = capsys.readouterr().err
    assert says in err, err
    cloud = FileDeployer(fresh / "stacks", tmp_path / "cloud")
    outcome = Orchestrator(cloud, load_pipeline(fresh / "stacks"), GitState(fresh)).promote(
        Request(release, "dev")
    )
    assert outcome.code == EXIT_INVALID, outcome.message
    assert "does not verify" in outcome.message
    assert cloud.read()["calls"] == [], "nothing deployed"

    # The clone that verified the state before notices a rewritten or deleted history too.
    if case in ("forged history", "removed, history rebuilt", "rewound tail", "ledger ref deleted"):
        assert main(["ledger", "verify", "--repo", str(a)]) == 1
        assert "the state this clone verified last" in capsys.readouterr().err


def test_a_remote_that_denies_force_pushes_refuses_the_rewrite(
    world: tuple[Path, Path], tmp_path: Path
) -> None:
    """The documented remote setting: the rewrite does not even land."""
    remote, _ = world
    git(remote, "config", "receive.denyNonFastForwards", "true")
    forger = clone(remote, tmp_path / "forger")
    git(forger, "fetch", "-q", "origin", f"{STATE_REF}:{STATE_REF}")
    done = Git(forger).run("push", "origin", f"+{STATE_REF}~3:{STATE_REF}", check=False)
    assert done.returncode != 0 and b"non-fast-forward" in done.stderr + done.stdout
