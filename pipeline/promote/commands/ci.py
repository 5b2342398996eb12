"""What CI reads and writes beside a promotion: ``stages`` (the pipelines as a stage matrix)
and ``record pin`` (a stage's record pinned into this checkout's stack file)."""

from __future__ import annotations

import argparse
from pathlib import Path

from components.spec.loader import PROJECT
from pipeline import contract
from pipeline.definition import Promotion
from pipeline.promote.commands import wiring
from pipeline.promote.commands.inputs import definition, fail, known_stage, said, stacks_dir
from pipeline.promote.model import EXIT_OK, CommandOutcome
from pipeline.promote.state import StateError


def stages(args: argparse.Namespace) -> int:
    """Per pipeline: its cloud, the stages CI promotes to without approval (``autoTargets``), the
    stages that need approval, and the soak before them; and every stack with its cloud."""
    from components.spec import read_stack

    pipelines_file = definition(args)
    stacks_at = stacks_dir(args)
    pipelines, stacks = [], []
    for name, pipeline in pipelines_file.pipelines.items():
        cloud = read_stack(stacks_at, pipeline.stages[0].stack).values.get(
            f"{PROJECT}:cloud", "aws"
        )
        targets = pipeline.auto_targets()
        reviewed = [s for s in pipeline.stages if s.promotion is Promotion.PULL_REQUEST]
        approved = [s for s in pipeline.stages if s.approval == "required" and s not in reviewed]
        before = max(
            pipeline.upstream_of(approved[0]) if approved else (),
            key=lambda s: s.soak_minutes,
            default=None,
        )
        pipelines.append(
            {
                "pipeline": name,
                "cloud": cloud,
                # ``auto``: a chain's one target, kept for readers of the linear form;
                # ``autoTargets``: one per branch of a graph (the deploy workflow walks them all).
                "auto": targets[-1].stack if targets else None,
                "autoTargets": [s.stack for s in targets],
                "approved": [s.stack for s in approved],
                "pullRequest": [s.stack for s in reviewed],
                "soakMinutes": before.soak_minutes if before else 0,
            }
        )
        stacks += [
            {
                "stack": s.stack,
                "stage": s.stage or s.stack,  # the pipeline file binds each stack to its stage
                "pipeline": name,
                "cloud": cloud,
            }
            for s in pipeline.stages
        ]
    message = f"{len(pipelines)} pipeline(s), {len(stacks)} stack(s)"
    if args.json:
        contract.result("stages", EXIT_OK, message, pipelines=pipelines, stacks=stacks)
        return EXIT_OK
    from pipeline import terminal
    from pipeline.promote.tables import stages_table

    print(stages_table(pipelines, stacks, terminal.width_for(None), terminal.wants_color()))
    return EXIT_OK


def record_pin(args: argparse.Namespace) -> int:
    from pipeline.record.stage import STACK_FILE, pin_stack_file

    known_stage(definition(args), args.stack)
    try:
        record = wiring.state(args).stage_record(args.stack)
    except StateError as exc:
        return fail(str(exc))
    if record is None:
        message = f"{args.stack}: no record yet; the stack file stays as it is"
        return said(
            args,
            "record pin",
            message,
            CommandOutcome.NOTHING_TO_DO,
            stack=args.stack,
            release=None,
        )
    path = Path(args.repo) / STACK_FILE.format(stack=args.stack)
    try:
        path.write_bytes(pin_stack_file(path.read_bytes(), record.release, record.images))
    except OSError as exc:
        return fail(f"{path}: cannot pin it ({exc.strerror})")
    message = f"{path}: pinned {record.release} from stages/{args.stack}"
    release = record.release
    return said(
        args, "record pin", message, CommandOutcome.PINNED, stack=args.stack, release=release
    )
