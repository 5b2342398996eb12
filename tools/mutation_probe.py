"""Security mutation probe (``make probe``): the catalog in policies/mutations/ against the pack.

Each mutation, written from a CIS benchmark control, a Checkov check or the provider's
documentation, weakens a stage's own offline render; the pack, started over gRPC as ``plan``
starts it, checks the result with the stage's policy config (pipeline/policy/probe.py). Prints
one row per mutation, then the count per substrate and the rules no mutation exercised.

Exit codes: 0 every mutation caught by a rule the catalog names (or accepted with a reason) and
every rule exercised; 1 a miss, a mutation that no longer applies, or a rule not exercised;
2 a catalog file or a stage that cannot be read.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline.policy.mutation import MutationError, load_catalogs  # noqa: E402
from pipeline.policy.probe import (  # noqa: E402
    FAILURES,
    Verdict,
    probe,
    render_stacks,
    uncovered,
    unknown_rules,
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--catalog", default=str(ROOT / "policies" / "mutations"), metavar="DIR")
    parser.add_argument("--substrate", action="append", help="only these (default: every one)")
    args = parser.parse_args(argv)
    console = Console(width=200, stderr=False)
    try:
        catalogs = [
            c
            for c in load_catalogs(Path(args.catalog))
            if not args.substrate or c.substrate in args.substrate
        ]
        stages = render_stacks(ROOT, sorted({c.stack for c in catalogs}))
    except (MutationError, RuntimeError) as exc:
        print(f"mutation probe: {exc}", file=sys.stderr)
        return 2
    from pipeline.policy.harness import PolicyHarness

    with PolicyHarness(ROOT / "policies").start() as harness:
        outcomes = probe(harness, catalogs, stages)
        missing = uncovered(harness, outcomes)
        unknown = unknown_rules(harness, catalogs)
    table = Table("stack", "mutation", "verdict", "caught by (new mandatory findings)")
    for o in outcomes:
        fired = ", ".join(o.fired) or o.problem or o.mutation.accepted or "-"
        verdict = o.verdict.value.upper() if o.verdict in FAILURES else o.verdict.value
        table.add_row(o.catalog.stack, o.mutation.id, verdict, fired)
    console.print(table)
    for catalog in catalogs:
        counts = Counter(o.verdict for o in outcomes if o.catalog is catalog)
        total = sum(counts.values())
        console.print(
            f"{catalog.substrate} ({catalog.stack}): {total} mutations, "
            f"{counts[Verdict.CAUGHT]} caught, {counts[Verdict.ACCEPTED]} accepted, "
            f"{sum(counts[v] for v in FAILURES)} failed"
        )
    if missing:
        console.print(f"rules no mutation exercised: {', '.join(missing)}")
    if unknown:
        console.print(f"rules the catalog names that the pack does not have: {', '.join(unknown)}")
    failed = any(o.verdict in FAILURES for o in outcomes) or bool(missing) or bool(unknown)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
