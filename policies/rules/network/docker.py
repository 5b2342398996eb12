"""Docker network rules: a stage's tiers are isolated (only the TLS proxy joins a network that
is not internal), and a stage that runs services has its TLS proxy, configured for TLS 1.2+."""

from __future__ import annotations

import re
from collections.abc import Iterator

from pulumi_policy import (
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    Severity,
    StackValidationArgs,
)

from ..graph import as_list, names, number, of_type
from ..rule import RuleSet, cis_docker

RULES = RuleSet("network", substrate="docker")

CONTAINER = "docker:index/container:Container"
NETWORK = "docker:index/network:Network"
TLS_PORT = 443
CADDYFILE = re.compile(r"(^|/)Caddyfile$")
# Caddy's `protocols <min> [<max>]` (https://caddyserver.com/docs/caddyfile/directives/tls).
PROTOCOLS = re.compile(r"^\s*protocols\s+(\S+)", re.MULTILINE)
WEAK_PROTOCOLS = {"tls1.0", "tls1.1"}


def publishes_tls(container: PolicyResource) -> bool:
    """The TLS proxy: the one container that publishes the TLS port."""
    return any(number(p.get("internal")) == TLS_PORT for p in as_list(container.props.get("ports")))


def _joined(container: PolicyResource, networks: list[PolicyResource]) -> Iterator[PolicyResource]:
    for attachment in as_list(container.props.get("networksAdvanced")):
        yield from (n for n in networks if names(n, attachment.get("name")))


@RULES.stack(
    "docker-network-tiers-isolated",
    description="A stage's private network is internal (no route out of the host), and only"
    " the TLS proxy joins a network that is not: services, the database and storage sit on"
    " internal networks only.",
    severity=Severity.HIGH,
    remediation="Keep internal: true on the private network (components/docker/network.py) and"
    " attach only the proxy to the edge network.",
    references=(cis_docker("5.29"),),
)
def docker_network_tiers_isolated(args: StackValidationArgs, report: ReportViolation) -> None:
    networks = list(of_type(args.resources, NETWORK))
    for container in of_type(args.resources, CONTAINER):
        if publishes_tls(container):
            continue
        for network in _joined(container, networks):
            if network.props.get("internal") is not True:
                report(
                    f"{container.name} joins {network.name}, which is not internal", container.urn
                )


@RULES.stack(
    "docker-container-tls-proxy-present",
    description="A stage that runs services has the TLS proxy that is their only entrance.",
    severity=Severity.HIGH,
    remediation="Keep the proxy container components/docker/services.py creates; services are"
    " never published themselves.",
    references=(cis_docker("5.7"),),
)
def docker_container_tls_proxy_present(args: StackValidationArgs, report: ReportViolation) -> None:
    containers = list(of_type(args.resources, CONTAINER))
    services = [
        c
        for c in containers
        if any(str(e).startswith("STAGELINE_SERVICE=") for e in as_list(c.props.get("envs")))
    ]
    if services and not any(publishes_tls(c) for c in containers):
        for service in services:
            report(f"{service.name} has no TLS proxy in front of it", service.urn)


def caddyfiles(args: ResourceValidationArgs) -> Iterator[str]:
    for upload in as_list(args.props.get("uploads")):
        if CADDYFILE.search(str(upload.get("file", ""))) and isinstance(upload.get("content"), str):
            yield upload["content"]


@RULES.resource(
    "docker-container-tls-proxy-config",
    types=(CONTAINER,),
    description="The TLS proxy's Caddyfile accepts TLS 1.2 or later only and serves no"
    " service over plain HTTP.",
    severity=Severity.HIGH,
    remediation="Keep `protocols tls1.2` in every site's tls block and proxy services only from"
    " HTTPS site addresses (the health endpoint is the only http:// site).",
)
def docker_container_tls_proxy_config(
    args: ResourceValidationArgs, report: ReportViolation
) -> None:
    for content in caddyfiles(args):
        for minimum in PROTOCOLS.findall(content):
            if minimum.lower() in WEAK_PROTOCOLS:
                report(f"the proxy accepts {minimum}", None)
        for site in re.split(r"\n(?=\S)", content):
            if site.lstrip().startswith("http://") and "reverse_proxy" in site:
                report(f"{site.split()[0]} proxies a service over plain HTTP", None)
