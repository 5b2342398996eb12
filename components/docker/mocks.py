"""Docker answers for the offline renderer: ids, image digests, published ports, generated
passwords and certificates, as the docker, random and tls providers would return them."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pipeline.mocks import Facts


def _hex(f: Facts, salt: str, length: int = 64) -> str:
    return hashlib.sha256(f"{salt}:{f.suffix}".encode()).hexdigest()[:length]


def _pem(kind: str, f: Facts) -> str:
    return f"-----BEGIN {kind}-----\n{_hex(f, kind)}\n-----END {kind}-----\n"


def _container(i: dict[str, Any], f: Facts) -> dict[str, Any]:
    # Docker picks a free host port >= 32768 for a port published without one.
    ports = [
        {**p, "external": p.get("external") or 32768 + int(_hex(f, str(n), 4), 16) % 28000}
        for n, p in enumerate(i.get("ports") or [])
    ]
    return {"id": _hex(f, "container"), "name": f.physical, "ports": ports, "exitCode": 0}


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
