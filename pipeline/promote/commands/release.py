"""``release create``, ``release show``, ``release list``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from components.spec import SpecError
from pipeline import contract
from pipeline.promote.commands import wiring
from pipeline.promote.commands.inputs import definition, fail, services, stacks_dir
from pipeline.promote.model import EXIT_OK, CommandOutcome, exit_code
from pipeline.promote.release import ReleaseError, make_release, parse_images
from pipeline.promote.state import StateError, StateUnverifiedError


def create(args: argparse.Namespace) -> int:
    try:
        pipelines = definition(args)
        images = parse_images(args.image or [], services(stacks_dir(args), pipelines))
        state = wiring.state(args)
        release, created = state.save_release(make_release(Path(args.repo), images))
    except (ReleaseError, SpecError, StateUnverifiedError) as exc:
        return fail(f"refused, nothing written:\n{exc}")
    except StateError as exc:
        return fail(f"not recorded:\n{exc}", CommandOutcome.STOPPED)
    unreviewed = wiring.unreviewed(args.protected_branch, state, release, pipelines)
    if unreviewed and not args.json:
        print(f"note: {unreviewed}", file=sys.stderr)
    outcome = CommandOutcome.CREATED if created else CommandOutcome.EXISTS
    if args.json:
        contract.event("release", **release.to_json())
        contract.result(
            "release create",
            exit_code(outcome),
            f"{release.id} {'created' if created else 'exists already, unchanged'}",
            outcome=outcome,
            release=release.id,
            unreviewed=unreviewed,
        )
    else:
        print(f"{release.id} ({'created' if created else 'exists already, unchanged'})")
    return exit_code(outcome)


def show(args: argparse.Namespace) -> int:
    try:
        release = wiring.state(args).releases.get(args.release)
    except (ReleaseError, StateError) as exc:
        return fail(str(exc))
    if args.json:
        contract.event("release", **release.to_json())
        contract.result("release show", EXIT_OK, release.id, release=release.id)
    else:
        print(json.dumps(release.to_json(), indent=2))
    return EXIT_OK


def listing(args: argparse.Namespace) -> int:
    try:
        releases = wiring.state(args).releases.all()
    except StateError as exc:
        return fail(str(exc))
    if args.json:
        for release in releases:
            contract.event("release", **release.to_json())
        contract.result("release list", EXIT_OK, f"{len(releases)} release(s)")
        return EXIT_OK
    if not releases:
        print("no releases yet; make one with `python -m pipeline release create`", file=sys.stderr)
        return EXIT_OK
    from pipeline import terminal
    from pipeline.promote.tables import releases_table

    print(releases_table(releases, terminal.width_for(None), terminal.wants_color()))
    return EXIT_OK
