"""Commits built tree by tree, without an index.

``Git.commit_tree`` reads the whole base tree into a private index: fine for a checkout's few
hundred files, but the state's tree holds one file per ledger entry, so reading it whole would
make every append cost more as the ledger grows. Here only the trees on the changed paths are
read (one ``cat-file --batch``), rebuilt in memory and written (one ``mktree --batch``): an
append reads and writes a handful of small trees whatever the ledger's length.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from pipeline.naming import temp_prefix, tool_identity
from pipeline.record.git import Git, GitError

TREE_MODE = "40000"
FILE_MODE = "100644"
IDENTITY = tool_identity()

Listing = dict[str, tuple[str, str]]  # name -> (mode, object id)
Known = dict[tuple[str, str], Listing]  # (commit, folder) -> its listing


def parse_tree(raw: bytes) -> Listing:
    """A tree object's entries (git's binary format: ``<mode> <name>\\0<20-byte id>``)."""
    listing: Listing = {}
    at = 0
    while at < len(raw):
        space = raw.index(b" ", at)
        nul = raw.index(b"\0", space)
        mode, name = raw[at:space].decode(), raw[space + 1 : nul].decode()
        listing[name] = (mode, raw[nul + 1 : nul + 21].hex())
        at = nul + 21
    return listing


def _sort_key(item: tuple[str, tuple[str, str]]) -> bytes:
    name, (mode, _) = item
    return (name + "/" if mode == TREE_MODE else name).encode()  # git's order for trees


def tree_object(listing: Listing) -> tuple[str, bytes]:
    """The id and the body of the tree object holding ``listing``."""
    body = b"".join(
        f"{mode} {name}".encode() + b"\0" + bytes.fromhex(oid)
        for name, (mode, oid) in sorted(listing.items(), key=_sort_key)
    )
    header = b"tree %d\0" % len(body)
    return hashlib.sha1(header + body, usedforsecurity=False).hexdigest(), body


def write_blobs(git: Git, contents: Sequence[bytes]) -> list[str]:
    """Write blobs, in one ``hash-object`` call; returns their ids in order."""
    if len(contents) == 1:
        return [git.write_blob(contents[0])]
    with tempfile.TemporaryDirectory(prefix=temp_prefix("blobs")) as scratch:
        paths = []
        for number, content in enumerate(contents):
            path = Path(scratch) / str(number)
            path.write_bytes(content)
            paths.append(str(path))
        out = git.text(
            "hash-object", "-w", "--no-filters", "--stdin-paths", stdin="\n".join(paths).encode()
        )
    return out.split()


def _ancestors(path: str) -> list[str]:
    parts = path.split("/")[:-1]
    return [""] + ["/".join(parts[: k + 1]) for k in range(len(parts))]


def commit_paths(
    git: Git,
    base: str | None,
    changes: Mapping[str, bytes | None],
    parents: Sequence[str],
    message: str,
    known: Known | None = None,
    identity: tuple[str, str] | None = None,
) -> str:
    """A commit whose tree is ``base``'s with ``changes`` (path -> content, None to remove)
    applied; only the trees on the changed paths are read and written. ``known``: the listings
    of the last commit made here, reused when ``base`` is that commit (a writer's next append
    then reads nothing); replaced by this commit's. ``identity`` (name, email) authors and
    commits it: whoever ran the promotion (pipeline.record.identity)."""
    known = {} if known is None else known
    folders = sorted({d for path in changes for d in _ancestors(path)}, key=lambda d: d.count("/"))
    if base and all((base, d) in known for d in folders):
        listings = {d: dict(known[(base, d)]) for d in folders}
    else:
        specs = {d: f"{base}:{d}" if d else f"{base}^{{tree}}" for d in folders}
        found = git.objects(list(specs.values())) if base else {}
        listings = {d: parse_tree(found.get(specs[d]) or b"") for d in folders}
    written = [p for p, c in sorted(changes.items()) if c is not None]
    blobs = dict(zip(written, write_blobs(git, [changes[p] or b"" for p in written]), strict=True))
    for path in changes:
        folder, _, name = path.rpartition("/")
        if path in blobs:
            listings[folder][name] = (FILE_MODE, blobs[path])
        else:
            listings[folder].pop(name, None)
    trees: list[tuple[str, Listing]] = []
    for folder in sorted(folders, key=lambda d: (-d.count("/") if d else 1, d)):
        listing = listings[folder]
        oid, _ = tree_object(listing)
        trees.append((oid, listing))
        if folder:
            parent, _, name = folder.rpartition("/")
            if listing:
                listings[parent][name] = (TREE_MODE, oid)
            else:
                listings[parent].pop(name, None)
    batch = "\n".join(
        "".join(
            f"{mode} {'tree' if mode == TREE_MODE else 'blob'} {oid}\t{name}\n"
            for name, (mode, oid) in listing.items()
        )
        for _, listing in trees
        if listing
    )
    made = git.text("mktree", "--batch", stdin=batch.encode()).split() if batch else []
    expected = [oid for oid, listing in trees if listing]
    if made != expected:
        raise GitError(f"git mktree wrote {made}, where {expected} was computed")
    root = trees[-1][0]
    if not trees[-1][1]:
        root = git.text("mktree", stdin=b"")  # the empty tree
    name, email = identity or IDENTITY
    env = {
        "GIT_AUTHOR_NAME": name,
        "GIT_AUTHOR_EMAIL": email,
        "GIT_COMMITTER_NAME": name,
        "GIT_COMMITTER_EMAIL": email,
    }
    args = ["commit-tree", root, "-m", message]
    for parent in parents:
        args += ["-p", parent]
    commit = git.run(*args, env=env).stdout.decode().strip()
    known.clear()
    known.update(((commit, d), listings[d]) for d in folders)
    return commit
