"""The Docker substrate's registration (components/substrates.py), and the shape settings one
Docker host cannot honour, checked at load time with the rest of the spec. No SDK import here."""

from __future__ import annotations

from typing import TYPE_CHECKING

from components.substrates import SubstrateInfo

if TYPE_CHECKING:
    from components.spec.model import StageSpec


def unrealizable(spec: StageSpec) -> list[tuple[str, str]]:
    """Shape settings one Docker host cannot honour, as (model path, what was expected).

    A stage on Docker states these differences in its stack file (and pipeline.yaml declares
    them as substrate differences), so they show in the parity report instead of being dropped.
    """
    from components.docker import images  # the package imports pulumi_docker: only here

    found = []
    shape = spec.shape
    if shape.encryption.at_rest:
        found.append(
            (
                "shape.encryption.atRest",
                "false on docker: volumes are not encrypted with a customer-managed key",
            )
        )
    if shape.logging.flow_logs:
        found.append(
            (
                "shape.logging.flowLogs",
                "false on docker: a bridge network keeps no flow logs",
            )
        )
    major = shape.database.major_version
    if images.postgres(major) is None:
        found.append(
            (
                "shape.database.majorVersion",
                f"one of {sorted(images.POSTGRES)} on docker (no pinned image for {major};"
                " add its digest to components/docker/images.py)",
            )
        )
    return found


def _image_names() -> dict[str, str]:
    from components.docker.images import NAMES  # no SDK import: images.py imports none

    return dict(NAMES)


SUBSTRATE = SubstrateInfo(
    name="docker",
    build="components.docker.assemble:build",
    bindings="components.docker.bindings:BINDINGS",
    mocks="components.docker.mocks",
    region_key=None,
    namespaces=("docker", "random", "tls"),
    checks=unrealizable,
    refuses={
        "encryption.atRest": "volumes are not encrypted with a customer-managed key",
        "logging.flowLogs": "a bridge network keeps no flow logs",
        "encryption.inTransit": "always on: every service and the database speak TLS",
        "network.azCount": "one host: no availability zones",
        "network.subnetBits": "the stage's CIDR is split in two halves (private and edge"
        " networks), not into subnets",
        "services.*.cpuArchitecture": "containers run on the host's own architecture",
    },
    images=_image_names(),
)
