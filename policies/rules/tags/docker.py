"""Docker label rules: containers, volumes and networks say which stage, owner and budget they
are for (Docker's tags: labels), so two stages on one host stay apart."""

from __future__ import annotations

from collections.abc import Mapping

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity

from ..graph import as_list
from ..rule import RuleSet

RULES = RuleSet("tags", substrate="docker")

LABELLED = (
    "docker:index/container:Container",
    "docker:index/volume:Volume",
    "docker:index/network:Network",
)
REQUIRED_LABELS = ("stage", "project", "owner", "cost-center", "managed-by")


@RULES.resource(
    "docker-all-labelled-required-labels",
    types=LABELLED,
    description="Every container, volume and network carries the stage, project, owner,"
    " cost-center and managed-by labels.",
    severity=Severity.LOW,
    remediation="Create the resource with labels=ctx.labels (components/docker/context.py),"
    " the stage's identity tags as labels.",
)
def docker_all_labelled_required_labels(
    args: ResourceValidationArgs, report: ReportViolation
) -> None:
    labels = {
        str(label.get("label")): label.get("value")
        for label in as_list(args.props.get("labels"))
        if isinstance(label, Mapping)
    }
    missing = [key for key in REQUIRED_LABELS if not labels.get(key)]
    if missing:
        report(f"labels lack {', '.join(missing)}", None)
