"""Policy results for offline previews, through the policy harness of ``pipeline.policy``.

The harness runs the real pack (``policies/``) over a rendered graph via the Analyzer protocol,
with the stage's config (``policies/config/<stage>.json``). Without a pack, the result is
"not run" and says why.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from pipeline.promote.deployer import PolicyOptions, PolicyResult
from pipeline.render import StageRender


class PolicyChecker:
    """One running pack, checking rendered stages one at a time."""

    def __init__(self, harness: Any, config_file: Path | None = None) -> None:
        self.harness = harness
        self.config_file = config_file
        """``--policy-pack-config FILE``: read exactly this file, whatever the stage."""

    def __call__(self, stack: str, render: StageRender, config: Mapping[str, str]) -> PolicyResult:
        from pipeline.policy.check import check_stages
        from pipeline.policy.config import PolicyConfigError
        from pipeline.policy.process import PolicyPackError

        try:
            result = check_stages(
                self.harness, {stack: render}, {stack: dict(config)}, self.config_file
            )[stack]
        except PolicyPackError as exc:
            return PolicyResult("failed", note=f"policy pack error: {exc}")
        except PolicyConfigError as exc:
            return PolicyResult("failed", note=f"policy config error: {exc}")
        findings = result.findings()
        mandatory = [f for f in findings if f["enforcement"] == "mandatory"]
        return PolicyResult(
            "failed" if mandatory else "passed",
            [dict(f) for f in findings],
            f"{len(result.passed)}/{len(result.enabled)} rules passed ({result.config.path.name})",
        )


@contextlib.contextmanager
def policy_checker(options: PolicyOptions) -> Iterator[PolicyChecker | None]:
    """Start the pack named by ``options`` (booting while stages render); None without one."""
    if options.pack is None or not (options.pack / "PulumiPolicy.yaml").exists():
        yield None
        return
    try:
        from pipeline.policy.harness import PolicyHarness
    except ImportError:
        yield None
        return
    with PolicyHarness(Path(options.pack)).start() as harness:
        yield PolicyChecker(harness, options.config)


def check_render(
    options: PolicyOptions, stack: str, render: StageRender, config: Mapping[str, str]
) -> PolicyResult:
    """One rendered stage through the pack and config ``options`` name, as ``plan`` checks it
    (the offline deployers' preview)."""
    with policy_checker(options) as checker:
        if checker is None:
            return not_run("no policy pack (policies/PulumiPolicy.yaml) or harness")
        return checker(stack, render, config)


def not_run(reason: str) -> PolicyResult:
    return PolicyResult("not run", note=reason)


def policy_findings(result: PolicyResult, urns: bool = True) -> list[str]:
    """Why a stage's policy result holds it, the one rule for ``promote`` and ``--rehearse``:
    each mandatory violation, and a policy that did not run (no pack, or a pack or config that
    could not judge the stage), because then nothing was checked, so nothing passes."""
    findings = [
        f"{v.get('urn', '')}: policy {v.get('policy')}: {v.get('message')}"
        if urns
        else f"policy {v.get('policy')}: {v.get('message')}"
        for v in result.mandatory
    ]
    if result.status == "not run" or (result.status == "failed" and not result.mandatory):
        why = (result.note or result.status).splitlines()[0]
        findings.append(f"policy did not run: {why}")
    return findings
