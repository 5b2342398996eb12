"""Docker container rules: images pinned by digest, never privileged, never on the host's
network, and secrets only as mounted files (``*_FILE`` variables), never plain env values or
words of a command."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity

from ..graph import as_list
from ..rule import RuleSet, checkov, cis_docker
from ..secrets import has_url_credentials, is_secret_name

RULES = RuleSet("containers", substrate="docker")

CONTAINER = "docker:index/container:Container"
REMOTE_IMAGE = "docker:index/remoteImage:RemoteImage"
DIGEST_REF = re.compile(r"^[a-z0-9][a-z0-9._/:-]*@sha256:[0-9a-f]{64}$")
IMAGE_ID = re.compile(r"^sha256:[0-9a-f]{64}$")


def env_vars(props: Any) -> Iterator[tuple[str, str]]:
    """(name, value) of each ``NAME=value`` entry of a container's envs."""
    for entry in as_list(props.get("envs")):
        if isinstance(entry, str):
            name, _, value = entry.partition("=")
            yield name, value


@RULES.resource(
    "docker-remoteimage-pinned-by-digest",
    types=(REMOTE_IMAGE,),
    description="Images are pulled by @sha256 digest, never by a tag alone.",
    severity=Severity.HIGH,
    remediation="Name the image as repo@sha256:<digest> (a tag may stay for readers:"
    " repo:tag@sha256:<digest>); take the digest from the release or the registry.",
)
def docker_remoteimage_pinned_by_digest(
    args: ResourceValidationArgs, report: ReportViolation
) -> None:
    name = args.props.get("name")
    if isinstance(name, str) and not DIGEST_REF.fullmatch(name):
        report(f"image {name} is not pinned by digest", None)


@RULES.resource(
    "docker-container-image-pinned-by-digest",
    types=(CONTAINER,),
    description="Containers run an image by digest (or the image id of a pinned RemoteImage).",
    severity=Severity.HIGH,
    remediation="Run the container from a docker.RemoteImage pinned by digest (its repoDigest"
    " or imageId), never from a tag such as name:latest.",
)
def docker_container_image_pinned_by_digest(
    args: ResourceValidationArgs, report: ReportViolation
) -> None:
    image = args.props.get("image")
    # Unknown until the RemoteImage is pulled (preview): that image is checked by its own rule.
    if isinstance(image, str) and not (DIGEST_REF.fullmatch(image) or IMAGE_ID.fullmatch(image)):
        report(f"image {image} is not pinned by digest", None)


@RULES.resource(
    "docker-container-disallow-privileged",
    types=(CONTAINER,),
    description="Containers do not run privileged and do not add every capability back.",
    severity=Severity.CRITICAL,
    remediation="Remove privileged: true (and capabilities.adds ALL); add only the specific"
    " Linux capability the process needs.",
)
def docker_container_disallow_privileged(
    args: ResourceValidationArgs, report: ReportViolation
) -> None:
    if args.props.get("privileged") is True:
        report("privileged is true", None)
    capabilities = args.props.get("capabilities") or {}
    adds = {str(c).upper() for c in as_list(capabilities.get("adds"))}
    if adds & {"ALL", "CAP_ALL", "SYS_ADMIN", "CAP_SYS_ADMIN"}:
        report(f"capabilities.adds grants {', '.join(sorted(adds))}", None)


@RULES.resource(
    "docker-container-disallow-host-network",
    types=(CONTAINER,),
    description="Containers use the stage's own networks, never the host's network, PID or IPC"
    " namespace.",
    severity=Severity.HIGH,
    remediation="Remove networkMode/pidMode/ipcMode host and attach the container to the"
    " stage's network (networksAdvanced).",
)
def docker_container_disallow_host_network(
    args: ResourceValidationArgs, report: ReportViolation
) -> None:
    for key in ("networkMode", "pidMode", "ipcMode"):
        if args.props.get(key) == "host":
            report(f"{key} is host", None)


@RULES.resource(
    "docker-container-secrets-not-in-plain-env",
    types=(CONTAINER,),
    description="Secrets reach containers as mounted files named by *_FILE variables, never as"
    " plain environment values (which docker inspect shows to anyone on the host).",
    severity=Severity.CRITICAL,
    remediation="Upload the secret as a file (uploads[].content from a Pulumi secret,"
    " permissions 0400) under /run/secrets and pass its path as NAME_FILE.",
)
def docker_container_secrets_not_in_plain_env(
    args: ResourceValidationArgs, report: ReportViolation
) -> None:
    for name, value in env_vars(args.props):
        if is_secret_name(name):
            report(f"{name} is a plain environment value", None)
        elif name.endswith("_FILE") and not value.startswith("/"):
            report(f"{name} is not a path to a mounted file", None)
        elif has_url_credentials(value):
            report(f"{name} embeds credentials in a URL", None)


# A secret written into a command line: `--password x`, `PASSWORD=x`, `user:pass@host`. Values
# read at run time (`$(cat /run/secrets/...)`, `$VAR`) are not secrets in the command.
SECRET_IN_COMMAND = (
    re.compile(r"(?i)--?(password|passwd|secret|token|api-?key)[= ](?![\"']?\$)\S+"),
    re.compile(r"(?i)\b\w*(PASSWORD|SECRET|TOKEN|API_?KEY)\w*=(?![\"']?\$)\S+"),
    re.compile(r"://[^/\s:@]+:(?!\$)[^@\s/]+@"),
)


@RULES.resource(
    "docker-container-secrets-not-in-command",
    types=(CONTAINER,),
    description="No secret is written into a container's command, entrypoint or healthcheck,"
    " where `docker inspect`, `ps` and the state show it; commands read secrets from files.",
    severity=Severity.CRITICAL,
    remediation="Upload the secret as a file (uploads, mode 0400) and read it at run time:"
    ' "$(cat /run/secrets/name)" or a *_FILE variable.',
    references=(cis_docker("4.10"), checkov("CKV_SECRET_6")),
)
def docker_container_secrets_not_in_command(
    args: ResourceValidationArgs, report: ReportViolation
) -> None:
    healthcheck = args.props.get("healthcheck") or {}
    for key, words in (
        ("command", args.props.get("command")),
        ("entrypoints", args.props.get("entrypoints")),
        ("healthcheck.tests", healthcheck.get("tests")),
    ):
        text = " ".join(str(w) for w in as_list(words))
        if any(pattern.search(text) for pattern in SECRET_IN_COMMAND):
            report(f"{key} holds a secret", None)
