"""The plain substrate's registration: the whole of what shared code learns about it."""

from __future__ import annotations

from components.substrates import SubstrateInfo

SUBSTRATE = SubstrateInfo(
    name="plain",
    build="tests.substrates.plain:build",
    bindings="tests.substrates.plain.bindings:BINDINGS",
    mocks="tests.substrates.plain.mocks",
    region_key=None,
    refuses={
        "encryption.atRest": "no resources, so nothing is encrypted",
        "logging.flowLogs": "no network, so no flow logs",
        "encryption.inTransit": "no endpoints, so no TLS",
        "logging.accessLogs": "no load balancer, so no access logs",
        "tls.minVersion": "no endpoints, so no TLS",
        "network.*": "no network: the CIDR is its only address space",
        "database.name": "no database server: only its endpoint is derived",
        "services.*.port": "no containers: a service is only its URL",
        "services.*.public": "no ingress: every URL is derived alike",
        "services.*.cpuArchitecture": "no containers",
        "services.*.uses": "no containers: nothing to hand credentials to",
    },
)
