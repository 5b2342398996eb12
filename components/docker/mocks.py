"""Docker answers for the offline renderer: ids, image digests, published ports, generated
passwords and certificates, as the docker, random and tls providers would return them.

Containers answer as the real docker provider (terraform-provider-docker, through Docker 20.10)
did in the first real ``up`` of the local stage and does in the docker lane (tests/dockerlane):
capabilities read back with the ``CAP_`` prefix, an unset ``memorySwap`` reads back as twice the
memory, and a create with an upload into a read-only root or with an upload owner is refused
with the engine's own message. ``READ_BACK`` names the inputs a refresh takes from what was read,
so the stand-in provider's Read (tools/standin) shows the drift the real one would.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pipeline.mocks import Facts


def _hex(f: Facts, salt: str, length: int = 64) -> str:
    return hashlib.sha256(f"{salt}:{f.suffix}".encode()).hexdigest()[:length]


def _pem(kind: str, f: Facts) -> str:
    return f"-----BEGIN {kind}-----\n{_hex(f, kind)}\n-----END {kind}-----\n"


class DockerRefusedError(ValueError):
    """The Docker engine refuses the container as declared (the real provider's create fails)."""


def refusals(i: dict[str, Any]) -> list[str]:
    """What a Docker 20.10 engine refuses in a container's uploads, in its own words."""
    found = []
    uploads = i.get("uploads") or []
    if uploads and i.get("readOnly") is True:
        found.append(
            "Unable to upload volume content: Error response from daemon: container rootfs is"
            " marked read-only"
        )
    # The daemon looks an upload's owner up in the host's passwd (not the container's).
    for upload in uploads:
        if isinstance(upload, dict) and upload.get("owner"):
            found.append(f'getent unable to find entry "{upload["owner"]}" in passwd database')
    return found


def _read_capabilities(declared: Any) -> Any:
    """Docker 20.10 stores added capabilities as ``CAP_X``; ``ALL`` in drops stays as it is."""
    if not isinstance(declared, dict):
        return declared
    adds = [f"CAP_{str(c).upper().removeprefix('CAP_')}" for c in declared.get("adds") or []]
    return {**declared, "adds": adds}


def _container(i: dict[str, Any], f: Facts) -> dict[str, Any]:
    refused = refusals(i)
    if refused:
        raise DockerRefusedError(f"{f.name}: {'; '.join(refused)}")
    # Docker picks a free host port >= 32768 for a port published without one.
    ports = [
        {**p, "external": p.get("external") or 32768 + int(_hex(f, str(n), 4), 16) % 28000}
        for n, p in enumerate(i.get("ports") or [])
    ]
    read: dict[str, Any] = {}
    if "capabilities" in i:
        read["capabilities"] = _read_capabilities(i["capabilities"])
    memory = i.get("memory")
    if isinstance(memory, int | float) and memory > 0 and not i.get("memorySwap"):
        read["memorySwap"] = 2 * memory  # the daemon's default: swap equal to the memory
    return {"id": _hex(f, "container"), "name": f.physical, "ports": ports, "exitCode": 0, **read}


def _remote_image(i: dict[str, Any], f: Facts) -> dict[str, Any]:
    name = str(i.get("name", ""))
    repository, _, digest = name.partition("@")
    repository = repository.rsplit(":", 1)[0] if ":" in repository.split("/")[-1] else repository
    image_id = f"sha256:{_hex(f, 'image')}"
    return {"id": f"{image_id}{name}", "imageId": image_id, "repoDigest": f"{repository}@{digest}"}


RESOURCES = {
    "docker:index/network:Network": lambda i, f: {
        "id": _hex(f, "network"),
        "name": f.physical,
        "scope": "local",
    },
    "docker:index/volume:Volume": lambda i, f: {
        "id": f.physical,
        "name": f.physical,
        "driver": "local",
        "mountpoint": f"/var/lib/docker/volumes/{f.physical}/_data",
    },
    "docker:index/remoteImage:RemoteImage": _remote_image,
    "docker:index/container:Container": _container,
    "random:index/randomPassword:RandomPassword": lambda i, f: {
        "result": _hex(f, "password", int(i.get("length", 32))),
        "bcryptHash": f"$2a$10${_hex(f, 'bcrypt', 53)}",
    },
    "tls:index/privateKey:PrivateKey": lambda i, f: {
        "id": _hex(f, "key", 40),
        "privateKeyPem": _pem("PRIVATE KEY", f),
        "publicKeyPem": _pem("PUBLIC KEY", f),
    },
    "tls:index/selfSignedCert:SelfSignedCert": lambda i, f: {"certPem": _pem("CERTIFICATE", f)},
    "tls:index/certRequest:CertRequest": lambda i, f: {
        "certRequestPem": _pem("CERTIFICATE REQUEST", f)
    },
    "tls:index/locallySignedCert:LocallySignedCert": lambda i, f: {
        "certPem": _pem("CERTIFICATE", f)
    },
}

CALLS: dict[str, Any] = {}

READ_BACK: dict[str, tuple[str, ...]] = {
    "docker:index/container:Container": ("capabilities", "memorySwap"),
}
"""Inputs a refresh takes from what the provider read (the bridge's Read returns inputs
extracted from the state), by type: where they differ from the program, the next preview
shows the drift."""
