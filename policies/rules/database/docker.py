"""Docker database rules: a database container is reachable only on the stage's private
network, never through a port published on the host."""

from __future__ import annotations

import re

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity

from ..graph import as_list
from ..rule import RuleSet

RULES = RuleSet("database")

CONTAINER = "docker:index/container:Container"
# Default ports of the database engines a stage might run in a container.
DATABASE_PORTS = {5432: "PostgreSQL", 3306: "MySQL", 1433: "SQL Server", 27017: "MongoDB"}
DATABASE_IMAGE = re.compile(r"(^|/)(postgres|postgis|mysql|mariadb|mongo|mssql)[:@/-]")


@RULES.resource(
    "docker-container-database-port-not-published",
    types=(CONTAINER,),
    description="Database containers publish no port on the host; services reach them on the"
    " stage's private network only.",
    severity=Severity.CRITICAL,
    remediation="Remove ports from the database container; connect through its network alias"
    " (e.g. database:5432), or `docker exec` into it for administration.",
)
def docker_container_database_port_not_published(
    args: ResourceValidationArgs, report: ReportViolation
) -> None:
    image = args.props.get("image")
    is_database = isinstance(image, str) and DATABASE_IMAGE.search(image) is not None
    for port in as_list(args.props.get("ports")):
        raw = port.get("internal")
        # The engine carries every number as a double.
        internal = int(raw) if isinstance(raw, int | float) else raw
        engine = DATABASE_PORTS.get(internal) if isinstance(internal, int) else None
        if engine or is_database:
            report(f"port {internal} ({engine or 'the database'}) is published on the host", None)
