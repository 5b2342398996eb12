"""Docker container hardening: what a container may see of its host, who it runs as, what the
kernel lets it do, how it is reached, and where its logs go (CIS Docker Benchmark 1.6.0, section 5
and 4.1). Docker has no IAM: these are the controls the AWS and Azure packs get from the platform.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity

from ..graph import as_list, number
from ..rule import Reference, RuleSet

RULES = RuleSet("containers", substrate="docker")

CONTAINER = "docker:index/container:Container"
DOCKER_SOCKETS = ("/var/run/docker.sock", "/run/docker.sock", "/run/containerd/containerd.sock")
LOOPBACK = {"127.0.0.1", "::1", "localhost"}
TLS_PORT = 443
"""The TLS proxy's port: the only one a stage publishes on the host."""
# Ports the database rule reports (one finding per problem).
DATABASE_PORTS = {5432, 3306, 1433, 27017}
# Capabilities that reach past the container: the kernel, the network stack, other processes.
DANGEROUS_CAPABILITIES = frozenset(
    {
        "ALL",
        "SYS_ADMIN",
        "SYS_MODULE",
        "SYS_PTRACE",
        "SYS_RAWIO",
        "SYS_BOOT",
        "SYS_TIME",
        "SYS_RESOURCE",
        "NET_ADMIN",
        "NET_RAW",
        "DAC_READ_SEARCH",
        "LINUX_IMMUTABLE",
        "MAC_ADMIN",
        "MAC_OVERRIDE",
        "AUDIT_CONTROL",
        "SYSLOG",
        "BPF",
        "PERFMON",
        "MKNOD",
    }
)
UNCONFINED = frozenset(
    f"{option}{sep}{value}"
    for option, value in (
        ("seccomp", "unconfined"),
        ("apparmor", "unconfined"),
        ("label", "disable"),
        ("systempaths", "unconfined"),
    )
    for sep in "=:"
)
ROTATING_DRIVERS = {"json-file", "local"}
"""Drivers that write to the host's disk: without max-size a noisy container fills it."""


def cis_docker(control: str) -> Reference:
    return Reference("CIS Docker Benchmark", "1.6.0", control)


def _capability(name: Any) -> str:
    return str(name).upper().removeprefix("CAP_")


def _host_paths(props: Any) -> Iterator[tuple[str, str]]:
    """(where, host path) of every bind mount: volumes[].hostPath and mounts[] of type bind."""
    for index, volume in enumerate(as_list(props.get("volumes"))):
        if isinstance(volume, Mapping) and volume.get("hostPath"):
            yield f"volumes[{index}].hostPath", str(volume["hostPath"])
    for index, mount in enumerate(as_list(props.get("mounts"))):
        if isinstance(mount, Mapping) and mount.get("type") == "bind":
            yield f"mounts[{index}].source", str(mount.get("source", ""))


@RULES.resource(
    "docker-container-disallow-host-mounts",
    types=(CONTAINER,),
    description="Containers mount no host path: never the Docker socket (root on the host),"
    " never a host directory; data lives in named volumes.",
    severity=Severity.CRITICAL,
    remediation="Replace the bind mount with a named docker.Volume (volumes[].volumeName), or"
    " upload the file the container needs (uploads[]).",
    references=[cis_docker("5.5"), cis_docker("5.31")],
)
def docker_container_disallow_host_mounts(
    args: ResourceValidationArgs, report: ReportViolation
) -> None:
    for where, path in _host_paths(args.props):
        if path.rstrip("/") in DOCKER_SOCKETS or path.endswith("docker.sock"):
            report(f"{where} {path} mounts the Docker socket (root on the host)", None)
        else:
            report(f"{where} {path} mounts a host path", None)


@RULES.resource(
    "docker-container-disallow-devices",
    types=(CONTAINER,),
    description="Containers are given no host device (devices[]).",
    severity=Severity.HIGH,
    remediation="Remove devices[]; a stage's services need no hardware of the host.",
    references=[cis_docker("5.17")],
)
def docker_container_disallow_devices(
    args: ResourceValidationArgs, report: ReportViolation
) -> None:
    for device in as_list(args.props.get("devices")):
        path = device.get("hostPath") if isinstance(device, Mapping) else device
        report(f"device {path} of the host is exposed to the container", None)


def is_service(args: ResourceValidationArgs) -> bool:
    """One of the stage's own services: the blueprint sets STAGELINE_SERVICE in its env."""
    return any(str(e).startswith("STAGELINE_SERVICE=") for e in as_list(args.props.get("envs")))


@RULES.resource(
    "docker-container-non-root-user",
    types=(CONTAINER,),
    description="Containers never run as root explicitly, and the stage's own services (those"
    " with STAGELINE_SERVICE) always name an unprivileged user.",
    severity=Severity.HIGH,
    remediation="Set user to an unprivileged uid (e.g. 10001) for services; remove user: root"
    " (images whose entrypoint drops privileges, like postgres, leave user unset).",
    references=[cis_docker("4.1")],
)
def docker_container_non_root_user(args: ResourceValidationArgs, report: ReportViolation) -> None:
    user = args.props.get("user")
    if isinstance(user, str) and user.split(":", 1)[0] in ("root", "0"):
        report(f"user is {user}", None)
        return
    if is_service(args) and not user:
        report("a service container without user runs as the image's default (often root)", None)


@RULES.resource(
    "docker-container-read-only-root",
    types=(CONTAINER,),
    description="The stage's own services (containers with STAGELINE_SERVICE) run with a"
    " read-only root filesystem; they write only to their tmpfs and files volume.",
    severity=Severity.MEDIUM,
    remediation="Set readOnly: true on the service's container; give it a tmpfs (/tmp) or a"
    " volume for what it must write.",
    references=[cis_docker("5.12")],
)
def docker_container_read_only_root(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if is_service(args) and args.props.get("readOnly") is not True:
        report("a service container with a writable root filesystem", None)


@RULES.resource(
    "docker-container-security-options",
    types=(CONTAINER,),
    description="Containers set no-new-privileges and never switch off the default seccomp or"
    " AppArmor profile (or SELinux labels).",
    severity=Severity.HIGH,
    remediation="Set securityOpts to ['no-new-privileges:true'] and remove any"
    " seccomp=unconfined, apparmor=unconfined or label=disable.",
    references=[cis_docker("5.1"), cis_docker("5.21"), cis_docker("5.25")],
)
def docker_container_security_options(
    args: ResourceValidationArgs, report: ReportViolation
) -> None:
    options = [str(o).replace(" ", "") for o in as_list(args.props.get("securityOpts"))]
    if not any(o in ("no-new-privileges", "no-new-privileges:true") for o in options):
        report("securityOpts lacks no-new-privileges:true", None)
    for option in options:
        if option.lower() in UNCONFINED:
            report(f"securityOpts {option} switches a kernel confinement off", None)


@RULES.resource(
    "docker-container-capabilities-minimal",
    types=(CONTAINER,),
    description="Containers drop every capability and add back none that reaches past the"
    " container (NET_ADMIN, SYS_PTRACE, SYS_MODULE, DAC_READ_SEARCH, NET_RAW, ...).",
    severity=Severity.HIGH,
    remediation="Set capabilities.drops to ['ALL'] and add only what the process needs (for"
    " example NET_BIND_SERVICE for a proxy on 443, CHOWN/SETUID/SETGID for postgres).",
    references=[cis_docker("5.3")],
)
def docker_container_capabilities_minimal(
    args: ResourceValidationArgs, report: ReportViolation
) -> None:
    capabilities = args.props.get("capabilities") or {}
    drops = {_capability(c) for c in as_list(capabilities.get("drops"))}
    if "ALL" not in drops:
        report("capabilities.drops does not drop ALL", None)
    # ALL and SYS_ADMIN are the privileged rule's findings.
    dangerous = {_capability(c) for c in as_list(capabilities.get("adds"))} & (
        DANGEROUS_CAPABILITIES - {"ALL", "SYS_ADMIN"}
    )
    if dangerous:
        report(f"capabilities.adds grants {', '.join(sorted(dangerous))}", None)


@RULES.resource(
    "docker-container-ports-through-tls-proxy",
    types=(CONTAINER,),
    description="Only the TLS proxy's port 443 is published, and only on the loopback"
    " interface: nothing reaches a service around TLS or from the host's other interfaces.",
    severity=Severity.HIGH,
    remediation="Remove ports from service containers (the proxy reaches them on the private"
    " network); publish the proxy's 443 with ip 127.0.0.1.",
    references=[cis_docker("5.8"), cis_docker("5.13")],
)
def docker_container_ports_through_tls_proxy(
    args: ResourceValidationArgs, report: ReportViolation
) -> None:
    for port in as_list(args.props.get("ports")):
        internal = number(port.get("internal"))
        ip = str(port.get("ip") or "0.0.0.0")
        if ip not in LOOPBACK:
            report(f"port {internal} is published on {ip} (every interface of the host)", None)
        if internal != TLS_PORT and internal not in DATABASE_PORTS:
            report(f"port {internal} is published, around the TLS proxy on {TLS_PORT}", None)


@RULES.resource(
    "docker-container-network-isolation",
    types=(CONTAINER,),
    description="Containers join the stage's own networks (networksAdvanced), never Docker's"
    " default bridge, which every container on the host shares.",
    severity=Severity.HIGH,
    remediation="Remove networkMode bridge/default and attach the container to the stage's"
    " private network with networksAdvanced.",
    references=[cis_docker("5.29")],
)
def docker_container_network_isolation(
    args: ResourceValidationArgs, report: ReportViolation
) -> None:
    mode = args.props.get("networkMode")
    joined = as_list(args.props.get("networksAdvanced"))
    # The provider defaults networkMode to bridge (its schema), and a container with
    # networksAdvanced is disconnected from the default bridge before it starts
    # (terraform-provider-docker, resource_docker_container_funcs.go, create): bridge with
    # networksAdvanced is what the real engine sends for every such container (docker lane).
    if mode == "default" or (mode == "bridge" and not joined):
        report(f"networkMode is {mode} (Docker's shared default bridge)", None)
    elif not joined and mode not in ("none", "host", "bridge"):
        report("no networksAdvanced: the container lands on the default bridge", None)


@RULES.resource(
    "docker-container-logging",
    types=(CONTAINER,),
    description="Containers keep their logs (logDriver is not none) and rotate them on the"
    " host (max-size for json-file and local).",
    severity=Severity.MEDIUM,
    remediation="Set logDriver json-file (or a remote driver) with logOpts max-size and"
    " max-file, as components/docker does.",
    references=[cis_docker("2.13")],
)
def docker_container_logging(args: ResourceValidationArgs, report: ReportViolation) -> None:
    driver = args.props.get("logDriver")
    if driver in (None, "", "none"):
        report(f"logDriver is {driver or 'unset'}: the container's logs are not kept", None)
        return
    options = args.props.get("logOpts") or {}
    if driver in ROTATING_DRIVERS and not options.get("max-size"):
        report(f"logDriver {driver} without logOpts max-size fills the host's disk", None)
