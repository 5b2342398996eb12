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
    },
)
