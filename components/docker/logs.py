"""Logs role on Docker: every container logs to Docker's json-file driver with rotation.

A single host has no log service to create, so this role declares no resource: it names the
sink every container of the stage writes to. Rotation is by size (``LOG_OPTS``), not by days,
so ``scale.logRetentionDays`` has no effect here.
"""

from __future__ import annotations

import json

import pulumi

from components.docker.context import LOG_DRIVER, LOG_OPTS, DockerContext, child
from components.roles import role_token


class Logs(pulumi.ComponentResource):
    log_sink_id: pulumi.Output[str]
    log_driver: str
    log_opts: dict[str, str]

    def __init__(self, name: str, ctx: DockerContext, parent: pulumi.Resource) -> None:
        super().__init__(role_token("docker", "Logs"), name, None, child(parent))
        self.log_driver = LOG_DRIVER
        self.log_opts = dict(LOG_OPTS)
        self.log_sink_id = pulumi.Output.from_input(
            f"{LOG_DRIVER}:{json.dumps(self.log_opts, sort_keys=True)}"
        )
        self.register_outputs({"logSinkId": self.log_sink_id})
