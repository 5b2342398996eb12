"""What one ``promote`` call asks, read once from its parsed arguments: the handler passes these
typed values on (to the wiring, the resolver, the orchestrator), never the Namespace."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from pipeline.definition import PipelineFile
from pipeline.promote.commands.inputs import fail, pipeline_name, stacks
from pipeline.promote.gates import FreezeOverride
from pipeline.promote.walk import Request
from pipeline.record.open import RecordLocation
from pipeline.usage import unknown


@dataclass(frozen=True)
class PromoteOptions:
    """``promote``'s options (pipeline.promote.commands.promote_parsing), checked together."""

    release: str
    target: str
    pipeline: str | None
    record: RecordLocation
    stacks_dir: Path
    deployer: str
    policy_pack: Path | None
    policy_config: Path | None
    protected_branch: str | None
    health_timeout: float
    json: bool
    rehearse: bool
    rollback: bool
    auto: bool
    approver: str | None
    merged: bool
    forge: tuple[str, str] | None
    """(proposal author, reviewer) logins from the forge's API, instead of git's identities."""
    freeze_override: FreezeOverride | None

    @classmethod
    def of(cls, args: argparse.Namespace) -> PromoteOptions:
        """The options of ``args``; refuses (exit 2) options that only go together."""
        if args.approve != bool(args.approver):
            fail("--approve and --approver NAME go together (who approved?)")
        if args.override_freeze is not None and not (
            args.approver and args.override_freeze.strip()
        ):
            fail(
                "--override-freeze REASON needs a reason and --approve --approver NAME (who"
                " decided to go ahead inside the freeze window?)"
            )
        if bool(args.reviewer) != bool(args.proposer) or (args.reviewer and not args.merged):
            fail(
                "--reviewer and --proposer go together, with --merged (the pull request's"
                " reviewer and author, from the forge)"
            )
        return cls(
            release=args.release,
            target=args.to,
            pipeline=args.pipeline,
            # Read here, not by RecordLocation.of or inputs.stacks_dir: the Namespace stays in
            # this module (tests/promote/test_call_path.py).
            record=RecordLocation(
                Path(args.repo), args.remote, Path(args.state_dir) if args.state_dir else None
            ),
            stacks_dir=Path(args.stacks_dir) if args.stacks_dir else Path(args.repo) / "stacks",
            deployer=args.deployer,
            policy_pack=Path(args.policy_pack) if args.policy_pack else None,
            policy_config=Path(args.policy_pack_config) if args.policy_pack_config else None,
            protected_branch=args.protected_branch,
            health_timeout=args.health_timeout,
            json=args.json,
            rehearse=args.rehearse,
            rollback=args.rollback,
            auto=args.auto,
            approver=args.approver,
            merged=args.merged,
            forge=(args.proposer, args.reviewer) if args.reviewer else None,
            freeze_override=(
                FreezeOverride(args.approver, args.override_freeze.strip())
                if args.override_freeze
                else None
            ),
        )

    def request(self, definition: PipelineFile) -> Request:
        """The promotion asked for (refusing a stage not in its pipeline)."""
        pipeline = pipeline_name(definition, self.pipeline, self.target)
        if self.target not in stacks(definition.pipelines[pipeline]):
            every = [s for p in definition.pipelines.values() for s in stacks(p)]
            raise unknown("stage", self.target, every)
        return Request(
            self.release,
            self.target,
            pipeline,
            rollback=self.rollback,
            auto=self.auto,
            approver=self.approver,
            merged=self.merged,
            forge=self.forge,
            freeze_override=self.freeze_override,
        )
