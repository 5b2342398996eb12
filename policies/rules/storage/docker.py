"""Docker storage rules: the stage's S3-compatible store (MinIO) serves TLS only, its clients
use HTTPS, and no bucket is anonymous."""

from __future__ import annotations

import re

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity

from ..graph import as_list
from ..rule import RuleSet

RULES = RuleSet("storage", substrate="docker")

CONTAINER = "docker:index/container:Container"
MINIO_IMAGE = re.compile(r"(^|/)minio/minio[:@]")
# `mc anonymous set <none|download|upload|public> ALIAS/BUCKET` (MinIO client docs).
ANONYMOUS = re.compile(r"mc\s+anonymous\s+set\s+(\S+)")


@RULES.resource(
    "docker-container-storage-tls-and-private",
    types=(CONTAINER,),
    description="The object store serves TLS (--certs-dir), every client reaches an endpoint"
    " over https://, and no bucket is opened to anonymous access.",
    severity=Severity.HIGH,
    remediation="Start MinIO with --certs-dir holding the stage CA's certificate, give clients"
    " https:// endpoints, and keep `mc anonymous set none` on every bucket.",
)
def docker_container_storage_tls_and_private(
    args: ResourceValidationArgs, report: ReportViolation
) -> None:
    command = [str(c) for c in as_list(args.props.get("command"))]
    image = args.props.get("image")
    if isinstance(image, str) and MINIO_IMAGE.search(image) and "--certs-dir" not in command:
        report("the object store starts without --certs-dir: no TLS", None)
    for env in as_list(args.props.get("envs")):
        name, _, value = str(env).partition("=")
        if name.endswith("_ENDPOINT") and value.startswith("http://"):
            report(f"{name} is plain HTTP", None)
    for setting in ANONYMOUS.findall(" ".join(command)):
        if setting != "none":
            report(f"a bucket is opened to anonymous {setting} access", None)
