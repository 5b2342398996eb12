"""Azure database rules: PostgreSQL flexible servers only inside the VNet with no firewall
opening to public addresses, TLS required and connections logged, Entra ID sign-in only,
backups kept long enough, zone-redundant and geo-backed-up in live."""

from __future__ import annotations

import ipaddress

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity, StackValidationArgs

from ..graph import number, of_type, within_private
from ..rule import RuleSet, checkov, cis_azure, config_schema

RULES = RuleSet("database", substrate="azure")

SERVER = "azure-native:dbforpostgresql:Server"
CONFIGURATION = "azure-native:dbforpostgresql:Configuration"
FIREWALL_RULE = "azure-native:dbforpostgresql:FirewallRule"
# Server parameters the stage must declare, with the value each must have (CIS Azure 4.3);
# None: the value is azure-dbforpostgresql-configuration-require-tls's to check.
REQUIRED_PARAMETERS = {"require_secure_transport": None, "log_connections": "on"}
TLS_VERSIONS = ("TLSv1.2", "TLSv1.3")


@RULES.resource(
    "azure-dbforpostgresql-server-disallow-public-access",
    types=(SERVER,),
    description="The server has no public endpoint: it lives in a delegated subnet and public"
    " network access is disabled.",
    severity=Severity.CRITICAL,
    remediation="Set network.delegatedSubnetResourceId and privateDnsZoneArmResourceId, and"
    " network.publicNetworkAccess to Disabled.",
)
def azure_dbforpostgresql_server_disallow_public_access(
    args: ResourceValidationArgs, report: ReportViolation
) -> None:
    network = args.props.get("network") or {}
    if network.get("publicNetworkAccess") != "Disabled":
        report("network.publicNetworkAccess is not Disabled", None)
    if not network.get("delegatedSubnetResourceId"):
        report("the server is not in a delegated subnet of the stage's VNet", None)


@RULES.resource(
    "azure-dbforpostgresql-firewallrule-disallow-public",
    types=(FIREWALL_RULE,),
    description="No server firewall rule admits a public address, nor every Azure service"
    " (the 0.0.0.0 to 0.0.0.0 rule): the server is reached from its VNet only.",
    severity=Severity.CRITICAL,
    remediation="Remove the firewall rule; clients reach the server from the apps subnet"
    " through VNet integration.",
    references=(cis_azure("4.3.7"), cis_azure("6.3"), checkov("CKV_AZURE_11")),
)
def azure_dbforpostgresql_firewallrule_disallow_public(
    args: ResourceValidationArgs, report: ReportViolation
) -> None:
    start, end = args.props.get("startIpAddress"), args.props.get("endIpAddress")
    if start == end == "0.0.0.0":
        report("the rule admits every Azure service (0.0.0.0 to 0.0.0.0)", None)
        return
    try:
        first, last = ipaddress.IPv4Address(str(start)), ipaddress.IPv4Address(str(end))
        ranges = list(ipaddress.summarize_address_range(first, last))
    except ValueError:
        report(f"the rule's range {start} to {end} cannot be read", None)
        return
    if any(not within_private(network) for network in ranges):
        report(f"the rule admits public addresses ({start} to {end})", None)


@RULES.stack(
    "azure-dbforpostgresql-server-parameters-managed",
    description="Every server declares the parameters the benchmark requires:"
    " require_secure_transport (on: the TLS rule checks it) and log_connections, on.",
    severity=Severity.HIGH,
    remediation="Keep the dbforpostgresql.Configuration resources components/azure/database.py"
    " declares for the server.",
    references=(cis_azure("4.3.1"), cis_azure("4.3.3"), checkov("CKV_AZURE_31")),
)
def azure_dbforpostgresql_server_parameters_managed(
    args: StackValidationArgs, report: ReportViolation
) -> None:
    declared: dict[tuple[str, str], str] = {
        (str(c.props.get("serverName")), str(c.props.get("configurationName"))): str(
            c.props.get("value", "")
        ).lower()
        for c in of_type(args.resources, CONFIGURATION)
    }
    for server in of_type(args.resources, SERVER):
        name = str(server.props.get("serverName") or "")
        for parameter, expected in REQUIRED_PARAMETERS.items():
            value = next(
                (v for (s, p), v in declared.items() if p == parameter and (s == name or not name)),
                None,
            )
            if value is None:
                report(f"{parameter} is not declared", server.urn)
            elif expected is not None and value != expected:
                report(f"{parameter} is {value}, {expected} expected", server.urn)


@RULES.resource(
    "azure-dbforpostgresql-configuration-require-tls",
    types=(CONFIGURATION,),
    description="Server parameters keep TLS required (require_secure_transport on) at version"
    " 1.2 or later.",
    severity=Severity.HIGH,
    remediation="Set require_secure_transport to on and ssl_min_protocol_version to TLSv1.2"
    " or TLSv1.3.",
)
def azure_dbforpostgresql_configuration_require_tls(
    args: ResourceValidationArgs, report: ReportViolation
) -> None:
    name, value = args.props.get("configurationName"), str(args.props.get("value", ""))
    if name == "require_secure_transport" and value.lower() != "on":
        report(f"require_secure_transport is {value}, expected on", None)
    if name == "ssl_min_protocol_version" and value not in TLS_VERSIONS:
        report(f"ssl_min_protocol_version is {value}, expected TLSv1.2 or later", None)


@RULES.resource(
    "azure-dbforpostgresql-server-entra-only",
    types=(SERVER,),
    description="Sign-in is with Entra ID only: no password authentication and no"
    " administrator password in config or state.",
    severity=Severity.HIGH,
    remediation="Set authConfig.activeDirectoryAuth to Enabled and passwordAuth to Disabled;"
    " drop administratorLoginPassword and add an Entra administrator.",
)
def azure_dbforpostgresql_server_entra_only(
    args: ResourceValidationArgs, report: ReportViolation
) -> None:
    auth = args.props.get("authConfig") or {}
    if str(auth.get("passwordAuth", "")).lower() != "disabled":
        report("authConfig.passwordAuth is not Disabled", None)
    if str(auth.get("activeDirectoryAuth", "")).lower() != "enabled":
        report("authConfig.activeDirectoryAuth is not Enabled", None)
    if args.props.get("administratorLoginPassword") is not None:
        report("administratorLoginPassword is set", None)


@RULES.resource(
    "azure-dbforpostgresql-server-backup-retention",
    types=(SERVER,),
    description="Backups are kept at least the stage's minimum number of days.",
    severity=Severity.HIGH,
    remediation="Raise scale.database.backupRetentionDays in the stack file (7 to 35 on Azure).",
    config=config_schema({"minimumDays": {"type": "integer", "minimum": 7, "maximum": 35}}),
)
def azure_dbforpostgresql_server_backup_retention(
    args: ResourceValidationArgs, report: ReportViolation
) -> None:
    minimum = int(args.get_config().get("minimumDays", 7))
    days = number((args.props.get("backup") or {}).get("backupRetentionDays", 7))
    if days < minimum:
        report(f"backup.backupRetentionDays is {days} day(s), the stage requires {minimum}", None)


@RULES.resource(
    "azure-dbforpostgresql-server-zone-redundant-ha",
    types=(SERVER,),
    description="The server has a zone-redundant standby.",
    severity=Severity.HIGH,
    remediation="Set scale.database.multiAz to true with a General Purpose or Memory"
    " Optimized SKU (highAvailability.mode ZoneRedundant).",
)
def azure_dbforpostgresql_server_zone_redundant_ha(
    args: ResourceValidationArgs, report: ReportViolation
) -> None:
    mode = (args.props.get("highAvailability") or {}).get("mode")
    if mode != "ZoneRedundant":
        report(f"highAvailability.mode is {mode}, not ZoneRedundant", None)


@RULES.resource(
    "azure-dbforpostgresql-server-geo-redundant-backup",
    types=(SERVER,),
    description="Backups are also kept in the paired region.",
    severity=Severity.MEDIUM,
    remediation="Set scale.database.deletionProtection to true (backup.geoRedundantBackup"
    " Enabled); it can only be chosen when the server is created.",
    references=(checkov("CKV_AZURE_136"),),
)
def azure_dbforpostgresql_server_geo_redundant_backup(
    args: ResourceValidationArgs, report: ReportViolation
) -> None:
    if (args.props.get("backup") or {}).get("geoRedundantBackup") != "Enabled":
        report("backup.geoRedundantBackup is not Enabled", None)


LOCKS = (
    "azure-native:authorization:ManagementLockByScope",
    "azure-native:authorization:ManagementLockAtResourceLevel",
)


@RULES.stack(
    "azure-dbforpostgresql-server-deletion-protection",
    description="The server cannot be deleted by accident: Pulumi's protect option, or a"
    " CanNotDelete (or ReadOnly) management lock on it. (retainOnDelete alone cannot be"
    " checked: the Analyzer is not sent it.)",
    severity=Severity.HIGH,
    remediation="Set scale.database.deletionProtection to true (the server gets protect), or"
    " add an authorization.ManagementLockByScope with level CanNotDelete and scope=server.id.",
)
def azure_dbforpostgresql_server_deletion_protection(
    args: StackValidationArgs, report: ReportViolation
) -> None:
    locked: list[str] = []
    for lock in (r for r in args.resources if r.resource_type in LOCKS):
        if lock.props.get("level") in ("CanNotDelete", "ReadOnly"):
            locked += [
                str(lock.props.get("scope") or ""),
                str(lock.props.get("resourceName") or ""),
            ]
    for server in (r for r in args.resources if r.resource_type == SERVER):
        name = str(server.props.get("serverName") or server.name)
        if server.opts.protect:
            continue
        if any(target == name or target.rstrip("/").endswith(f"/{name}") for target in locked):
            continue
        report(f"{server.name} has neither protect nor a CanNotDelete lock", server.urn)
