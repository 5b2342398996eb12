"""A thin, typed runner for the git CLI (the real thing: no library stands in for it)."""

from __future__ import annotations

import hashlib
import os
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from pipeline.naming import tool_identity


class GitError(Exception):
    """A git command failed; the message names the command and git's own words."""


def blob_id(content: bytes) -> str:
    """The id git gives a blob with ``content`` (SHA-1 object format), computed locally."""
    header = b"blob %d\0" % len(content)
    return hashlib.sha1(header + content, usedforsecurity=False).hexdigest()


@dataclass(frozen=True)
class Git:
    """Run git in one repository (``repo`` is its work tree or git directory)."""

    repo: Path

    def run(
        self,
        *args: str,
        stdin: bytes | None = None,
        env: Mapping[str, str] | None = None,
        check: bool = True,
    ) -> subprocess.CompletedProcess[bytes]:
        full = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C", **(env or {})}
        try:
            done = subprocess.run(
                ["git", "-C", str(self.repo), *args],
                input=stdin,
                capture_output=True,
                env=full,
                check=False,
            )
        except OSError as exc:
            raise GitError(f"git is not installed ({exc})") from None
        if check and done.returncode != 0:
            detail = done.stderr.decode(errors="replace").strip()
            raise GitError(f"git {' '.join(args)} failed in {self.repo}: {detail}")
        return done

    def text(self, *args: str, stdin: bytes | None = None) -> str:
        return self.run(*args, stdin=stdin).stdout.decode().strip()

    def rev(self, ref: str) -> str | None:
        """The commit ``ref`` names, or None when it does not exist."""
        done = self.run("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", check=False)
        return done.stdout.decode().strip() or None

    def show(self, commit: str, path: str) -> bytes | None:
        """A file's content at ``commit``, or None when it is not there."""
        done = self.run("cat-file", "blob", f"{commit}:{path}", check=False)
        return done.stdout if done.returncode == 0 else None

    def is_ancestor(self, older: str, newer: str) -> bool:
        return self.run("merge-base", "--is-ancestor", older, newer, check=False).returncode == 0

    def parents(self, commit: str) -> list[str]:
        return self.text("rev-list", "--parents", "-n", "1", commit).split()[1:]

    def has_commit(self, commit: str) -> bool:
        return self.run("cat-file", "-e", f"{commit}^{{commit}}", check=False).returncode == 0

    def blobs(self, ids: Sequence[str]) -> dict[str, bytes]:
        """The content of many blobs in one ``cat-file --batch`` call."""
        unique = sorted(set(ids))
        if not unique:
            return {}
        out = self.run("cat-file", "--batch", stdin="".join(f"{i}\n" for i in unique).encode())
        data, found, at = out.stdout, {}, 0
        for blob in unique:
            header_end = data.index(b"\n", at)
            header = data[at:header_end].split()
            size = int(header[2]) if len(header) == 3 else 0
            found[blob] = data[header_end + 1 : header_end + 1 + size]
            at = header_end + 1 + size + 1
        return found

    def objects(self, specs: Sequence[str]) -> dict[str, bytes | None]:
        """The content of many objects named by ``rev:path`` or id (None for each one that is
        missing), in one ``cat-file --batch`` call, in the order asked."""
        if not specs:
            return {}
        out = self.run("cat-file", "--batch", stdin="".join(f"{s}\n" for s in specs).encode())
        data, at = out.stdout, 0
        found: dict[str, bytes | None] = {}
        for spec in specs:
            header_end = data.index(b"\n", at)
            header = data[at:header_end].split()
            if len(header) != 3:  # "<spec> missing" (or ambiguous): no content follows
                found[spec], at = None, header_end + 1
                continue
            size = int(header[2])
            found[spec] = data[header_end + 1 : header_end + 1 + size]
            at = header_end + 1 + size + 1
        return found

    def write_blob(self, content: bytes) -> str:
        return self.text("hash-object", "-w", "--stdin", stdin=content)

    def commit_tree(
        self,
        base: str | None,
        changes: Mapping[str, bytes | None],
        parents: Sequence[str],
        message: str,
        index_file: Path,
        identity: tuple[str, str] = tool_identity(),
    ) -> str:
        """A commit whose tree is ``base``'s tree with ``changes`` (path -> content, None to
        remove) applied, built in a private index so no work tree or shared index is touched.
        ``identity`` (name, email) authors and commits it."""
        name, email = identity
        env = {
            "GIT_INDEX_FILE": str(index_file),
            "GIT_AUTHOR_NAME": name,
            "GIT_AUTHOR_EMAIL": email,
            "GIT_COMMITTER_NAME": name,
            "GIT_COMMITTER_EMAIL": email,
        }
        index_file.parent.mkdir(parents=True, exist_ok=True)
        index_file.unlink(missing_ok=True)
        if base is not None:
            self.run("read-tree", base, env=env)
        else:
            self.run("read-tree", "--empty", env=env)
        # One update-index call; mode 0 removes a path (works in a bare repository too).
        info = "".join(
            f"0 {'0' * 40}\t{path}\n"
            if content is None
            else f"100644 {self.write_blob(content)}\t{path}\n"
            for path, content in sorted(changes.items())
        )
        self.run("update-index", "--index-info", stdin=info.encode(), env=env)
        tree = self.run("write-tree", env=env).stdout.decode().strip()
        index_file.unlink(missing_ok=True)
        args = ["commit-tree", tree, "-m", message]
        for parent in parents:
            args += ["-p", parent]
        return self.run(*args, env=env).stdout.decode().strip()

    def push(self, remote: str, updates: Mapping[str, tuple[str, str | None]]) -> str | None:
        """Push ``ref -> (new commit, expected old commit or None for "absent")`` atomically,
        each held to its expected value (compare-and-swap). Returns None when the remote took
        every update, else the remote's refusal in its own words."""
        args = ["push", "--atomic", "--porcelain", "--quiet", remote]
        for ref, (_, old) in sorted(updates.items()):
            args.append(f"--force-with-lease={ref}:{old or ''}")
        args += [f"{new}:{ref}" for ref, (new, _) in sorted(updates.items())]
        done = self.run(*args, check=False)
        if done.returncode == 0:
            return None
        out = (done.stdout + done.stderr).decode(errors="replace")
        refused = [line for line in out.splitlines() if line.startswith("!")]
        if refused or "rejected" in out or "stale info" in out:
            return "; ".join(refused) or out.strip()
        raise GitError(f"git push to {remote} failed in {self.repo}: {out.strip()}")


def tree_of(git: Git, commit: str) -> str:
    return git.text("rev-parse", f"{commit}^{{tree}}")
