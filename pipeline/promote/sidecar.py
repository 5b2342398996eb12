"""A `file://` backend's torn metadata sidecar, left by a process killed while writing it.

Pulumi's DIY backend keeps a stack's checkpoint as a blob of gocloud.dev's fileblob driver. The
blob itself is written atomically (a temporary file renamed over it), but its metadata sidecar
``<blob>.attrs`` is written in place: ``setAttrs`` creates (truncates) the file, then encodes JSON
into it (gocloud.dev v0.46, blob/fileblob/attrs.go, the version tools/engine/go.mod pins). A kill
-9 between the two leaves an empty sidecar, and every later read of the checkpoint then fails
with ``failed to load checkpoint: EOF`` (the JSON decoder's io.EOF). The docker lane's test that
kills a promotion inside its update found it. A missing sidecar reads as no metadata (attrs.go,
``getAttrs``) and the DIY backend keeps nothing in it, so the torn sidecar of a checkpoint that
itself parses is removed; a checkpoint that does not parse is refused, never repaired.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from urllib.parse import unquote, urlparse

# The message the DIY backend wraps a checkpoint read's error in (pkg/backend/diy/state.go).
UNREADABLE = "failed to load checkpoint"
ATTRS = ".attrs"


class CheckpointDamagedError(Exception):
    """The checkpoint itself does not parse: nothing here may repair it."""


def backend_root(url: str) -> Path | None:
    """The directory of a ``file://`` backend URL (None: any other backend)."""
    parsed = urlparse(url)
    if parsed.scheme != "file":
        return None
    return Path(unquote(parsed.path))


def _blobs(root: Path, project: str, stack: str) -> list[Path]:
    """The checkpoint blobs of ``stack`` (project-scoped layout and the legacy one) and its
    lock files: every blob whose sidecar a killed update may have torn."""
    name = stack.rsplit("/", 1)[-1]
    stacks = root / ".pulumi" / "stacks"
    found: list[Path] = []
    for folder in (stacks / project, stacks):
        found += sorted(p for p in folder.glob(f"{name}.json*") if not p.name.endswith(ATTRS))
    found += sorted(
        p for p in (root / ".pulumi" / "locks").glob(f"*/{project}/{name}/*.json") if p.is_file()
    )
    return found


def _parses(path: Path) -> bool:
    try:
        raw = path.read_bytes()
        if path.name.endswith(".gz"):
            raw = gzip.decompress(raw)
        return isinstance(json.loads(raw), dict)
    except (OSError, ValueError, EOFError):
        return False


def _torn(sidecar: Path) -> bool:
    return sidecar.is_file() and not _parses(sidecar)


def repair_sidecars(root: Path, project: str, stack: str) -> list[str]:
    """Remove the torn sidecars of ``stack``'s blobs; one note per removal (empty: none torn).
    Raises CheckpointDamagedError when a torn sidecar's checkpoint does not parse either."""
    notes: list[str] = []
    for blob in _blobs(root, project, stack):
        sidecar = blob.with_name(blob.name + ATTRS)
        if not _torn(sidecar):
            continue
        if blob.name.endswith(".zst") or not _parses(blob):
            raise CheckpointDamagedError(
                f"{blob}: the checkpoint does not parse and its metadata {sidecar.name} is torn;"
                f" restore it from {blob.name}.bak (`pulumi stack import`)"
            )
        sidecar.unlink()
        notes.append(
            f"removed {sidecar}: an empty metadata file a killed write left (the checkpoint"
            " itself was intact)"
        )
    return notes
