"""``report --html DIR``: write the pipeline page from an offline plan and the promotion record."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from pipeline.arguments import (
    PROJECT_DIR,
    action,
    cache_directory,
    cache_options,
    record_options,
    stacks_dir_option,
    state_directory,
)
from pipeline.usage import CommandError, command_name

EXITS = {
    0: "written (a plan with violations is written too, and shows them)",
    2: "invalid configuration, a stage that does not render, or DIR cannot be written",
}


def _record(args: argparse.Namespace) -> tuple[Any, str]:
    """The promotion record (pipeline.site.model.Record), or None and why there is none: a
    checkout without the remote, or before any promotion, still gets its page."""
    from pipeline.promote.ledger import LedgerError
    from pipeline.promote.state import StateError
    from pipeline.record.open import RecordLocation, open_record
    from pipeline.site.model import Record

    if args.state_dir:
        where = f"the state directory {args.state_dir}"
    else:
        where = f"git remote {args.remote!r}"
    try:
        state = open_record(RecordLocation.of(args))
        check = state.verify()
        entries = state.entries()
        times = {r.id: r.commit_time for r in state.releases.all()}
    except (StateError, LedgerError, OSError) as exc:
        return None, f"no promotion record ({exc})"
    if not check.ok:
        where += "; WARNING: the ledger does not verify: " + "; ".join(check.problems)
    return Record(entries, state.stage_record, times, where), where


def _report(args: argparse.Namespace) -> int:
    from components import project
    from pipeline import report, terminal
    from pipeline.plan import make_plan
    from pipeline.policy import PolicyConfigError, PolicyPackError
    from pipeline.site import model, page
    from pipeline.stages import StagesError

    out = Path(args.html)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CommandError(f"--html {out}: cannot create it ({exc.strerror})") from None
    try:
        with terminal.progress() as advance:
            cache_dir = cache_directory(args)
            cache = None
            if cache_dir is not None:
                from pipeline.cache import RenderCache

                cache = RenderCache(cache_dir, PROJECT_DIR, Path(args.stacks_dir) / "pipeline.yaml")
            plan = make_plan(PROJECT_DIR, Path(args.stacks_dir), progress=advance, cache=cache)
    except StagesError as exc:
        raise CommandError(f"invalid configuration, nothing written:\n{exc}") from None
    except (PolicyPackError, PolicyConfigError) as exc:
        raise CommandError(f"the policy pack could not check the stages:\n{exc}") from None
    if plan.render_errors:
        failed = "; ".join(f"{s}: {e}" for s, e in plan.render_errors.items())
        raise CommandError(f"a stage did not render, nothing written: {failed}")
    record, note = _record(args)
    site = model.gather(plan, report.summary(plan), project.name(), record, note)
    catalog = PROJECT_DIR / "policies" / "CATALOG.md"
    try:
        (out / "index.html").write_text(page.index(site, command_name()), encoding="utf-8")
        (out / page.CATALOG).write_text(
            page.catalog(catalog.read_text(encoding="utf-8"), site.project), encoding="utf-8"
        )
    except OSError as exc:
        raise CommandError(f"--html {out}: cannot write the page ({exc.strerror})") from None
    stages = sum(len(p.stages) + len(p.beside) for p in site.pipelines)
    print(
        f"report: wrote {out / 'index.html'} and {out / page.CATALOG}: {stages} stages,"
        f" {len(site.events)} ledger events ({site.record})",
        file=sys.stderr,
    )
    return 0


def register(commands: Any) -> None:
    parser = action(
        commands,
        "report",
        _report,
        help="write the pipeline page: stages, parity, compliance, ledger, metrics (HTML)",
        description="Write a static site (no server, no external request) that shows each"
        " pipeline's stages and what they run, the parity matrix, compliance per stage with"
        " links into the rule catalog, the ledger and the DORA metrics as charts.",
        exits=EXITS,
    )
    parser.add_argument(
        "--html", required=True, type=state_directory, metavar="DIR", help="write the site here"
    )
    stacks_dir_option(parser, "directory of stack files and pipeline.yaml (default: stacks)")
    cache_options(parser, "rendered stages", "render every stage afresh")
    record_options(parser, stacks_dir=False, json=False)
