"""Docker database rules: a database container is reachable only on the stage's private
network, never through a port published on the host; it serves TLS 1.2+, asks for a SCRAM
password, and logs connections."""

from __future__ import annotations

import itertools
import re

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity

from ..graph import as_list
from ..rule import RuleSet, cis_azure

RULES = RuleSet("database", substrate="docker")

CONTAINER = "docker:index/container:Container"
# Default ports of the database engines a stage might run in a container.
DATABASE_PORTS = {5432: "PostgreSQL", 3306: "MySQL", 1433: "SQL Server", 27017: "MongoDB"}
TLS_VERSIONS = ("TLSv1.2", "TLSv1.3")
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


def _settings(command: list[str]) -> dict[str, str]:
    """``-c name=value`` server settings of a postgres command line."""
    found: dict[str, str] = {}
    for flag, value in itertools.pairwise(command):
        if flag == "-c" and "=" in value:
            name, _, setting = value.partition("=")
            found[name.strip()] = setting.strip()
    return found


@RULES.resource(
    "docker-container-database-tls-and-password-auth",
    types=(CONTAINER,),
    description="A PostgreSQL container serves TLS (ssl=on) and never trusts a connection"
    " without a password; its clients verify the server (PGSSLMODE verify-full or verify-ca).",
    severity=Severity.CRITICAL,
    remediation="Start postgres with -c ssl=on and the stage CA's certificate; remove"
    " POSTGRES_HOST_AUTH_METHOD=trust and any --auth=trust in POSTGRES_INITDB_ARGS; give clients"
    " PGSSLMODE=verify-full and PGSSLROOTCERT.",
)
def docker_container_database_tls_and_password_auth(
    args: ResourceValidationArgs, report: ReportViolation
) -> None:
    envs = dict(str(e).partition("=")[::2] for e in as_list(args.props.get("envs")))
    mode = envs.get("PGSSLMODE")
    if mode is not None and mode not in ("verify-full", "verify-ca"):
        report(f"PGSSLMODE is {mode}: the client does not verify the database's certificate", None)
    image = args.props.get("image")
    if not (isinstance(image, str) and re.search(r"(^|/)(postgres|postgis)[:@/-]", image)):
        return
    command = [str(c) for c in as_list(args.props.get("command"))]
    if _settings(command).get("ssl", "off").lower() not in ("on", "true", "1"):
        report("the server does not enable TLS (-c ssl=on)", None)
    if envs.get("POSTGRES_HOST_AUTH_METHOD", "").lower() == "trust":
        report("POSTGRES_HOST_AUTH_METHOD is trust: no password is asked", None)
    initdb = envs.get("POSTGRES_INITDB_ARGS", "")
    if re.search(r"--auth(-host|-local)?[= ]trust", initdb):
        report("POSTGRES_INITDB_ARGS sets trust authentication", None)
    weak = re.search(r"--auth(-host)?[= ](md5|password)\b", initdb)
    if weak:
        report(f"POSTGRES_INITDB_ARGS sets {weak.group(2)} authentication, not scram-sha-256", None)
    minimum = _settings(command).get("ssl_min_protocol_version", "TLSv1.2")
    if minimum not in TLS_VERSIONS:
        report(f"ssl_min_protocol_version is {minimum}, TLSv1.2 or later expected", None)


@RULES.resource(
    "docker-container-database-log-connections",
    types=(CONTAINER,),
    description="A PostgreSQL container logs every connection (-c log_connections=on).",
    severity=Severity.MEDIUM,
    remediation="Start postgres with -c log_connections=on (components/docker/database.py).",
    references=(cis_azure("4.3.3"),),
)
def docker_container_database_log_connections(
    args: ResourceValidationArgs, report: ReportViolation
) -> None:
    image = args.props.get("image")
    if not (isinstance(image, str) and re.search(r"(^|/)(postgres|postgis)[:@/-]", image)):
        return
    command = [str(c) for c in as_list(args.props.get("command"))]
    if _settings(command).get("log_connections", "off").lower() not in ("on", "true", "1"):
        report("the server does not log connections (-c log_connections=on)", None)
