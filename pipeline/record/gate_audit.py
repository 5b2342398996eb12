"""``ledger verify`` audits: could each recorded promotion have passed its gates?

The hash chain proves the ledger was not edited; it does not prove that what it records was
allowed. So each promotion's ``start`` entry is replayed through the planner that decides a
real promotion (``pipeline.promote.planner.plan_walk``), against the pipeline file that governed
it (the blob its entry records, which must be that commit's and the commit on the protected
branch; an entry from before governance was recorded is replayed against the protected branch
as it was at the entry's time), with the ledger as it stood before it, the entry's own time,
approver and review, and whether the release's commit was on the protected branch. Every stage
the promotion deployed whose gates would not all pass is a finding that names the entry.
"""

from __future__ import annotations

import functools
import tempfile
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from components.spec.loader import SpecError
from pipeline.definition import PipelineFile, load_pipeline
from pipeline.naming import temp_prefix
from pipeline.promote.entries import LedgerEntry, StartEntry, StepEntry
from pipeline.promote.gates import CodeReview, FreezeOverride
from pipeline.promote.history import LedgerView, parse_time
from pipeline.promote.model import StepName, StepStatus
from pipeline.promote.planner import plan_walk
from pipeline.promote.release import Release
from pipeline.record.git import Git
from pipeline.record.refs import PIPELINE_PATH


@dataclass(frozen=True)
class Finding:
    """A promotion the record shows that its gates could not have let through."""

    seq: int  # the promotion's start entry
    promotion: str
    stage: str
    gate: str
    reason: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def __str__(self) -> str:
        return f"entry {self.seq} ({self.promotion}): {self.stage}: {self.gate}: {self.reason}"


@dataclass
class Audit:
    findings: list[Finding]
    notes: list[str]
    promotions: int


class Governing:
    """The governing pipeline file of each start entry, read from git (blobs by id)."""

    def __init__(self, git: Git, protected: str, where: str) -> None:
        self.git = git
        self.protected = protected  # the protected branch's tip now
        self.where = where  # e.g. "origin/main"
        self._files: dict[str, PipelineFile | str] = {}

    def of(self, entry: StartEntry) -> tuple[str, str, list[str], list[str]]:
        """(commit, pipeline blob, problems, notes) of what governed ``entry``."""
        recorded = entry.governance
        if not isinstance(recorded, Mapping):
            commit = self.git.text(
                "rev-list", "-1", "--first-parent", f"--before={entry.time}", self.protected
            ) or self.git.text("rev-list", "--max-parents=0", "-1", self.protected)
            blob = self.git.text("rev-parse", f"{commit}:{PIPELINE_PATH}")
            note = (
                f"entry {entry.seq} records no governance (made before it was recorded):"
                f" replayed against {self.where} as of its time ({commit[:12]})"
            )
            return commit, blob, [], [note]
        commit = str(recorded.get("commit"))
        blob = str((recorded.get("pipeline") or {}).get("blob"))
        problems = []
        if not self._on_protected(commit):
            problems.append(
                f"governed by commit {commit[:12]}, which is not on {self.where} (the protected"
                " branch)"
            )
        elif self._pipeline_blob(commit) != blob:
            problems.append(f"its pipeline blob {blob[:12]} is not {commit[:12]}'s {PIPELINE_PATH}")
        return commit, blob, problems, []

    # Memoized: a year of promotions names a handful of governing commits, and each question is
    # a git process (thousands of them made verify take minutes).
    @functools.cache  # noqa: B019 (one Governing per verification; it lives no longer)
    def _on_protected(self, commit: str) -> bool:
        return self.git.has_commit(commit) and self.git.is_ancestor(commit, self.protected)

    @functools.cache  # noqa: B019
    def _pipeline_blob(self, commit: str) -> str:
        return self.git.text("rev-parse", f"{commit}:{PIPELINE_PATH}")

    def definition(self, blob: str) -> PipelineFile | str:
        """The pipeline file in ``blob``, or why it cannot be read."""
        if blob not in self._files:
            content = self.git.run("cat-file", "blob", blob, check=False)
            if content.returncode != 0:
                self._files[blob] = f"no blob {blob[:12]} in this clone"
            else:
                with tempfile.TemporaryDirectory(prefix=temp_prefix("audit")) as tmp:
                    (Path(tmp) / "pipeline.yaml").write_bytes(content.stdout)
                    try:
                        self._files[blob] = load_pipeline(Path(tmp))
                    except SpecError as exc:
                        self._files[blob] = f"invalid pipeline file {blob[:12]}: {exc.problems}"
        return self._files[blob]

    @functools.cache  # noqa: B019
    def reviewed(self, commit: str, governed_by: str) -> bool:
        return self.git.has_commit(commit) and self.git.is_ancestor(commit, governed_by)


def _update_completed(entry: LedgerEntry) -> StepEntry | None:
    if not isinstance(entry, StepEntry):
        return None
    done = entry.step is StepName.UP and entry.status is StepStatus.COMPLETED
    return entry if done else None


def _deployed(entries: list[LedgerEntry]) -> dict[tuple[str, str], list[str]]:
    """Per (promotion, kind): the stages its update completed in, in order (a stage once)."""
    stages: dict[tuple[str, str], list[str]] = {}
    for entry in entries:
        if (up := _update_completed(entry)) is not None:
            done = stages.setdefault((up.promotion, str(up.kind)), [])
            if up.stage not in done:
                done.append(up.stage)
    return stages


def audit(
    entries: list[LedgerEntry], releases: Mapping[str, Release], governing: Governing
) -> Audit:
    """Replay every promotion's gates; see the module's docstring."""
    replay = _Replay(governing, releases, _deployed(entries))
    # One pass: the view and what each stage holds grow entry by entry, so each promotion's
    # gates see the ledger as it stood before it without re-reading it (linear in the entries).
    view = LedgerView()
    holds: dict[str, str] = {}
    promotions = 0
    for entry in entries:
        if isinstance(entry, StartEntry):
            promotions += 1
            replay(entry, view, holds)
        view.add(entry)
        if (up := _update_completed(entry)) is not None:
            holds[up.stage] = up.release
    return Audit(replay.findings, replay.notes, promotions)


class _Replay:
    """Replays one promotion's gates against the ledger before its ``start`` entry."""

    def __init__(
        self,
        governing: Governing,
        releases: Mapping[str, Release],
        deployments: Mapping[tuple[str, str], list[str]],
    ) -> None:
        self.governing = governing
        self.releases = releases
        self.created = {r.id: r.created for r in releases.values()}
        self.deployments = deployments
        self.findings: list[Finding] = []
        self.notes: list[str] = []

    def __call__(self, start: StartEntry, view: LedgerView, holds: Mapping[str, str]) -> None:
        promotion = start.promotion
        rollback = start.rollback
        deployed = self.deployments.get((promotion, "rollback" if rollback else "forward"), [])
        if not deployed:
            return

        def found(stage: str, gate: str, reason: str) -> None:
            self.findings.append(Finding(start.seq, promotion, stage, gate, reason))

        governing = self.governing
        commit, blob, problems, said = governing.of(start)
        self.notes += said
        for problem in problems:
            found(", ".join(deployed), "governance", problem)
        definition = governing.definition(blob)
        if isinstance(definition, str):
            found(", ".join(deployed), "governance", definition)
            return
        pipeline = definition.pipelines.get(start.pipeline)
        target = start.target
        if pipeline is None or target not in [s.stack for s in pipeline.stages]:
            found(target, "governance", f"no stage {target} in the governing pipeline file")
            return
        release = self.releases.get(start.release)
        code = (
            CodeReview(release.commit, governing.where, governing.reviewed(release.commit, commit))
            if release is not None
            else None
        )
        review = start.review or {}
        override = start.override
        planned = plan_walk(
            pipeline,
            target,
            start.release,
            holds.get,
            view,
            self.created,
            parse_time(start.time),
            rollback=rollback,
            auto=start.auto,
            approver=start.approver,
            reviewer=review.get("reviewer"),
            code=code,
            override=(
                FreezeOverride(str(override["by"]), str(override["reason"]))
                if isinstance(override, Mapping)
                else None
            ),
        )
        for stage in deployed:
            if stage not in planned.verdicts:
                found(stage, "walk", "deployed, though the ledger before it says it was not due")
                continue
            for verdict in planned.verdicts[stage]:
                if not verdict.ok:
                    found(stage, verdict.gate, verdict.reason)
