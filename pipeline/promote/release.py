"""Releases: every service's image pinned by digest, the infrastructure commit and the policy
pack version, under an id derived from that content. A stored release never changes.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from components.spec.model import DIGEST_PATTERN, digest_of, is_digest_ref
from pipeline.promote.files import write_atomic
from pipeline.usage import one_of

ID_PREFIX = "r-"


class ReleaseError(Exception):
    """A release cannot be made or read; the message says which input and what was expected."""


@dataclass(frozen=True)
class Release:
    """An immutable release; ``id`` is a hash of every other field except ``created``."""

    id: str
    images: dict[str, str]
    commit: str
    commit_time: str
    tree_dirty: bool
    policy_pack: str
    created: str

    @property
    def digests(self) -> dict[str, str]:
        return {service: digest_of(image) for service, image in sorted(self.images.items())}

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Release:
        return cls(**data)


def content_id(
    images: Mapping[str, str], commit: str, commit_time: str, tree_dirty: bool, policy_pack: str
) -> str:
    content = {
        "images": dict(sorted(images.items())),
        "commit": commit,
        "commitTime": commit_time,
        "treeDirty": tree_dirty,
        "policyPack": policy_pack,
    }
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"))
    return ID_PREFIX + hashlib.sha256(canonical.encode()).hexdigest()[:16]


def parse_images(pairs: Iterable[str], services: Iterable[str]) -> dict[str, str]:
    """``SERVICE=REPO@sha256:<64 hex>`` pairs, checked against the blueprint's services."""
    known = sorted(services)
    images: dict[str, str] = {}
    problems: list[str] = []
    named: set[str] = set()
    for pair in pairs:
        service, sep, image = pair.partition("=")
        named.add(service)
        if not sep or not service or not image:
            problems.append(f"--image {pair!r}: expected SERVICE=REPO@sha256:<64 hex>")
            continue
        if service not in known:
            problems.append(
                f"--image {pair!r}: unknown service {service!r}; expected one of {one_of(known)}"
            )
            continue
        if service in images:
            problems.append(f"--image {pair!r}: service {service!r} given twice")
            continue
        if not is_digest_ref(image):
            tag = image.rsplit(":", 1)[-1] if ":" in image.rsplit("/", 1)[-1] else ""
            why = f"tag :{tag} is mutable" if tag and "@" not in image else "not a digest reference"
            problems.append(
                f"--image {pair!r}: expected REPO@sha256:<64 hex> ({why}; a release pins digests,"
                f" pattern {DIGEST_PATTERN})"
            )
            continue
        images[service] = image
    missing = [s for s in known if s not in named]
    problems += [
        f"--image: no image for service {s!r}; a release pins every service" for s in missing
    ]
    if problems:
        raise ReleaseError("\n".join(problems))
    return images


def _git(project_dir: Path, *args: str) -> str:
    try:
        done = subprocess.run(
            ["git", *args], cwd=project_dir, capture_output=True, text=True, check=True
        )
    except (OSError, subprocess.CalledProcessError) as exc:
        detail = getattr(exc, "stderr", "") or str(exc)
        raise ReleaseError(
            f"git {' '.join(args)} failed in {project_dir}: {detail.strip()}"
        ) from None
    return done.stdout.strip()


def policy_pack_version(project_dir: Path) -> str:
    """``policies/PulumiPolicy.yaml`` version if set, else the committed tree hash of policies/."""
    manifest = project_dir / "policies" / "PulumiPolicy.yaml"
    if manifest.exists():
        doc = yaml.safe_load(manifest.read_text(encoding="utf-8")) or {}
        if isinstance(doc, dict) and doc.get("version"):
            return f"version:{doc['version']}"
    return f"tree:{_git(project_dir, 'rev-parse', 'HEAD:policies')}"


def make_release(
    project_dir: Path, images: Mapping[str, str], now: datetime | None = None
) -> Release:
    """A release of ``images`` at the checkout's current commit and policy pack."""
    commit = _git(project_dir, "rev-parse", "HEAD")
    commit_time = _git(project_dir, "show", "-s", "--format=%cI", "HEAD")
    dirty = bool(_git(project_dir, "status", "--porcelain", "--", "components", "__main__.py"))
    policy = policy_pack_version(project_dir)
    created = (now or datetime.now(UTC)).isoformat(timespec="seconds")
    return Release(
        content_id(images, commit, commit_time, dirty, policy),
        dict(sorted(images.items())),
        commit,
        commit_time,
        dirty,
        policy,
        created,
    )


def unknown_release(where: str, release_id: str, known: list[Release]) -> ReleaseError:
    names = ", ".join(r.id for r in known) or "none"
    return ReleaseError(
        f"{where}: no release {release_id!r} (known: {names}); "
        "make one with `python -m pipeline release create`"
    )


def parse_release(text: str, where: str, release_id: str) -> Release:
    """A stored release, checked against its content-derived id."""
    try:
        release = Release.from_json(json.loads(text))
    except (ValueError, TypeError) as exc:
        raise ReleaseError(f"{where}: not a release record ({exc})") from None
    expected = content_id(
        release.images,
        release.commit,
        release.commit_time,
        release.tree_dirty,
        release.policy_pack,
    )
    if expected != release.id or release.id != release_id:
        raise ReleaseError(f"{where}: content does not match id {release_id!r}; it was edited")
    return release


def release_json(release: Release) -> str:
    return json.dumps(release.to_json(), indent=2) + "\n"


class ReleaseStore:
    """``<state>/releases/<id>.json``, each written atomically and never rewritten: the
    releases of a state directory's old layout (which pipeline.record.local imports); no
    command writes one any more."""

    def __init__(self, state_dir: Path) -> None:
        self.root = state_dir / "releases"

    def path(self, release_id: str) -> Path:
        return self.root / f"{release_id}.json"

    def save(self, release: Release) -> tuple[Release, bool]:
        """Store ``release``; an existing one with the same id wins. Returns (stored, created)."""
        if self.path(release.id).exists():
            return self.get(release.id), False
        write_atomic(self.path(release.id), release_json(release))
        return release, True

    def get(self, release_id: str) -> Release:
        path = self.path(release_id)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise unknown_release(str(path), release_id, self.all()) from None
        return parse_release(text, str(path), release_id)

    def all(self) -> list[Release]:
        if not self.root.exists():
            return []
        found = []
        for path in sorted(self.root.glob("*.json")):
            try:
                found.append(self.get(path.stem))
            except ReleaseError:
                continue
        return sorted(found, key=lambda r: (r.created, r.id))
