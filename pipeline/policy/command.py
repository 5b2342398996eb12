"""``python -m pipeline policies``: the policy pack's catalog for auditors."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from pipeline.policy.catalog import catalog_path, render_catalog
from pipeline.policy.config import PolicyConfigError
from pipeline.policy.harness import PolicyHarness
from pipeline.policy.process import PolicyPackError
from pipeline.usage import add_command

PACK_DIR = Path(__file__).resolve().parent.parent.parent / "policies"


def _catalog(args: argparse.Namespace) -> int:
    pack_dir = Path(args.pack_dir)
    target = catalog_path(pack_dir)
    try:
        with PolicyHarness(pack_dir) as harness:
            text = render_catalog(harness)
    except (PolicyPackError, PolicyConfigError) as exc:
        print(f"policies catalog: {exc}", file=sys.stderr)
        return 2
    if args.check:
        if not target.exists() or target.read_text() != text:
            print(f"policies catalog: {target} is stale; run python -m pipeline policies catalog")
            return 1
        print(f"policies catalog: {target} is up to date")
        return 0
    target.write_text(text)
    print(f"policies catalog: wrote {target}")
    return 0


def register(commands: Any) -> None:
    policies = add_command(
        commands,
        "policies",
        help="the policy pack: catalog of rules for auditors",
        description="Work with the policy pack in policies/ (run through the Analyzer protocol).",
    )
    actions = policies.add_subparsers(dest="policies_command", required=True, metavar="ACTION")
    catalog = add_command(
        actions,
        "catalog",
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
    catalog.add_argument("--check", action="store_true", help="exit 1 if CATALOG.md is stale")
    catalog.set_defaults(func=_catalog)
