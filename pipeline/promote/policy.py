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


def not_run(reason: str) -> PolicyResult:
    return PolicyResult("not run", note=reason)
