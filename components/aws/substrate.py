"""The AWS substrate's registration (components/substrates.py): no SDK import here."""

from __future__ import annotations

from typing import TYPE_CHECKING

from components.substrates import SubstrateInfo

if TYPE_CHECKING:
    from components.spec.model import StageSpec

# Fargate task sizes: the CPU units a task may have (1024 = one vCPU).
FARGATE_CPU = (256, 512, 1024, 2048, 4096)


def aws_problems(spec: StageSpec) -> list[tuple[str, str]]:
    """(model path, what was expected) for each scale value AWS would refuse."""
    found = []
    # Live's load balancer is AWS's own to protect (Azure's Container Apps ingress has none;
    # its live protections are the database's, required for every substrate).
    if spec.identity.stage == "live" and not spec.scale.load_balancer_deletion_protection:
        found.append(("scale.loadBalancerDeletionProtection", "true in live"))
    encryption = spec.shape.encryption
    if not encryption.at_rest:
        found.append(
            ("shape.encryption.atRest", "true on aws: data stores use the stage's KMS key")
        )
    if not encryption.in_transit:
        found.append(("shape.encryption.inTransit", "true on aws: HTTPS and rds.force_ssl always"))
    for name in sorted(spec.shape.services):
        if spec.scale.service(name).cpu not in FARGATE_CPU:
            sizes = ", ".join(map(str, FARGATE_CPU))
            found.append((f"scale.services.{name}.cpu", f"one of {sizes} on aws (Fargate)"))
    return found


SUBSTRATE = SubstrateInfo(
    name="aws",
    build="components.aws.assemble:build",
    bindings="components.aws.bindings:BINDINGS",
    mocks="components.aws.mocks",
    region_key="aws:region",
    namespaces=("aws",),
    checks=aws_problems,
    refuses={
        "encryption.atRest": "always on: every data store is encrypted with the stage's KMS key",
        "encryption.inTransit": "always on: HTTPS at the load balancer, rds.force_ssl=1",
    },
)
