"""The state branch's commits as the audit reads them: one ``git log --raw`` of the first-parent
history, each commit with its message and the blobs it changed."""

from __future__ import annotations

from dataclasses import dataclass, field

from pipeline.record.git import Git

NO_BLOB = "0" * 40


@dataclass
class Commit:
    sha: str
    message: str
    # path -> (status, old blob, new blob)
    changes: dict[str, tuple[str, str, str]] = field(default_factory=dict)

    trailers: dict[str, list[str]] | None = None

    def trailer(self, key: str) -> list[str]:
        """The values of every ``<key>: <value>`` line of the message."""
        if self.trailers is None:  # parsed once: the audit asks each commit several keys
            self.trailers = {}
            for line in self.message.splitlines():
                name, sep, value = line.partition(": ")
                if sep and name and " " not in name:
                    self.trailers.setdefault(name, []).append(value)
        return self.trailers.get(key, [])


def read_history(git: Git, tip: str, since: str | None = None) -> list[Commit]:
    """First-parent commits up to ``tip`` (after ``since``, when given), oldest first."""
    raw = git.run(
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
        commit = Commit(sha.strip(), message)
        for line in raw_changes.strip().splitlines():
            meta, _, path = line.partition("\t")
            parts = meta.split()
            if len(parts) == 5:
                commit.changes[path] = (parts[4], parts[2], parts[3])
        commits.append(commit)
    return commits
