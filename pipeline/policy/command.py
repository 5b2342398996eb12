"""``python -m pipeline policies``: the policy pack's catalog for auditors."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from pipeline.arguments import action, check_option, command_group
from pipeline.policy.catalog import catalog_path, render_catalog
from pipeline.policy.config import PolicyConfigError
from pipeline.policy.process import PolicyPackError
from pipeline.usage import CommandError

PACK_DIR = Path(__file__).resolve().parent.parent.parent / "policies"


def _catalog(args: argparse.Namespace) -> int:
    pack_dir = Path(args.pack_dir)
    target = catalog_path(pack_dir)
    try:
        from pipeline.policy.harness import PolicyHarness  # gRPC: only when the pack runs

        with PolicyHarness(pack_dir) as harness:
            text = render_catalog(harness)
    except (PolicyPackError, PolicyConfigError) as exc:
        raise CommandError(str(exc)) from None
    if args.check:
        if not target.exists() or target.read_text() != text:
            # A failure, on stderr like every other (schema --check does the same).
            print(
                f"policies catalog: {target} is stale; run python -m pipeline policies catalog",
                file=sys.stderr,
            )
            return 1
        print(f"policies catalog: {target} is up to date")
        return 0
    target.write_text(text)
    print(f"policies catalog: wrote {target}")
    return 0


def register(commands: Any) -> None:
    actions = command_group(
        commands,
        "policies",
        help="the policy pack: catalog of rules for auditors",
        description="Work with the policy pack in policies/ (run through the Analyzer protocol).",
    )
    catalog = action(
        actions,
        "catalog",
        _catalog,
        help="write policies/CATALOG.md (rules, severity, frameworks, enforcement per stage)",
        description="Start the pack, read every rule over gRPC and the stage config files, and"
        " write the Markdown catalog.",
        exits={
            0: "written, or up to date (--check)",
            1: "stale (--check)",
            2: "the pack or a stage config cannot be read",
        },
    )
    catalog.add_argument(
        "--pack-dir", default=str(PACK_DIR), metavar="DIR", help="the pack (default: policies)"
    )
    check_option(catalog, "CATALOG.md")
