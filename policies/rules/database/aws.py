"""AWS database rules: private, encrypted, TLS forced, backed up for as long as the stage
requires, multi-AZ and protected against deletion where the stage serves users."""

from __future__ import annotations

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity

from ..graph import as_list, number
from ..rule import RuleSet, checkov, cis_aws, config_schema

RULES = RuleSet("database", substrate="aws")

INSTANCE = "aws:rds/instance:Instance"
PARAMETER_GROUP = "aws:rds/parameterGroup:ParameterGroup"
# The parameter that makes each engine refuse unencrypted connections.
TLS_PARAMETER = {"postgres": "rds.force_ssl", "mysql": "require_secure_transport"}


@RULES.resource(
    "aws-rds-instance-disallow-public-access",
    types=(INSTANCE,),
    description="Database instances are not publicly accessible.",
    severity=Severity.CRITICAL,
    remediation="Set publiclyAccessible to false and place the instance in private subnets.",
    references=(cis_aws("2.3.3"), checkov("CKV_AWS_17")),
)
def aws_rds_instance_disallow_public_access(
    args: ResourceValidationArgs, report: ReportViolation
) -> None:
    if args.props.get("publiclyAccessible") is True:
        report("publiclyAccessible is true", None)


@RULES.resource(
    "aws-rds-instance-storage-encrypted",
    types=(INSTANCE,),
    description="Database storage is encrypted at rest.",
    severity=Severity.HIGH,
    remediation="Set storageEncrypted to true with the stage's KMS key (kmsKeyId); an existing"
    " instance needs a snapshot restore to change it.",
    references=(cis_aws("2.3.1"), checkov("CKV_AWS_16")),
)
def aws_rds_instance_storage_encrypted(
    args: ResourceValidationArgs, report: ReportViolation
) -> None:
    if args.props.get("storageEncrypted") is not True:
        report("storageEncrypted is not true", None)


@RULES.resource(
    "aws-rds-parametergroup-force-tls",
    types=(PARAMETER_GROUP,),
    description="Database parameter groups refuse connections without TLS.",
    severity=Severity.HIGH,
    remediation="Set rds.force_ssl = 1 (PostgreSQL) or require_secure_transport = 1 (MySQL) in"
    " the instance's parameter group.",
    references=(checkov("CKV2_AWS_69"),),
)
def aws_rds_parametergroup_force_tls(args: ResourceValidationArgs, report: ReportViolation) -> None:
    family = str(args.props.get("family", ""))
    parameter = next((p for e, p in TLS_PARAMETER.items() if family.startswith(e)), None)
    if parameter is None:
        return
    values = {
        p.get("name"): str(number(p.get("value"))) for p in as_list(args.props.get("parameters"))
    }
    if values.get(parameter) not in ("1", "ON", "on"):
        report(f"{parameter} is {values.get(parameter, 'not set')}, expected 1", None)


@RULES.resource(
    "aws-rds-instance-backup-retention",
    types=(INSTANCE,),
    description="Automated backups are kept at least as long as the stage requires.",
    severity=Severity.HIGH,
    remediation="Raise <project>:scale.database.backupRetentionDays in the stack file to at"
    " least the stage's minimumDays (policies/config/<stage>.json).",
    references=(checkov("CKV_AWS_133"),),
    config=config_schema({"minimumDays": {"type": "integer", "minimum": 0, "maximum": 35}}),
)
def aws_rds_instance_backup_retention(
    args: ResourceValidationArgs, report: ReportViolation
) -> None:
    minimum = int(args.get_config().get("minimumDays", 1))
    days = int(args.props.get("backupRetentionPeriod", 0) or 0)
    if days < minimum:
        report(f"backupRetentionPeriod is {days} day(s), the stage requires {minimum}", None)


@RULES.resource(
    "aws-rds-instance-multi-az",
    types=(INSTANCE,),
    description="Database instances run in more than one availability zone.",
    severity=Severity.HIGH,
    remediation="Set <project>:scale.database.multiAz: true in the stack file.",
    references=(checkov("CKV_AWS_157"),),
)
def aws_rds_instance_multi_az(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.props.get("multiAz") is not True:
        report("multiAz is not true", None)


@RULES.resource(
    "aws-rds-instance-deletion-protection",
    types=(INSTANCE,),
    description="Database instances have deletion protection and Pulumi's protect option, and"
    " keep a final snapshot.",
    severity=Severity.HIGH,
    remediation="Set <project>:scale.database.deletionProtection: true; the blueprint then sets"
    " deletionProtection and the protect resource option. (retainOnDelete alone cannot be"
    " checked: the analyzer protocol does not carry it.)",
    references=(checkov("CKV_AWS_293"),),
)
def aws_rds_instance_deletion_protection(
    args: ResourceValidationArgs, report: ReportViolation
) -> None:
    if args.props.get("deletionProtection") is not True:
        report("deletionProtection is not true", None)
    if not args.opts.protect:
        report("the protect resource option is not set", None)
    if args.props.get("skipFinalSnapshot") is True:
        report("skipFinalSnapshot is true: deleting it keeps no snapshot", None)


@RULES.resource(
    "aws-rds-instance-auto-minor-version-upgrade",
    types=(INSTANCE,),
    description="Database instances take minor engine upgrades automatically.",
    severity=Severity.LOW,
    remediation="Set autoMinorVersionUpgrade to true (upgrades run in the maintenance window).",
    references=(cis_aws("2.3.2"), checkov("CKV_AWS_226")),
    stage_advisory=True,
)
def aws_rds_instance_auto_minor_version_upgrade(
    args: ResourceValidationArgs, report: ReportViolation
) -> None:
    if args.props.get("autoMinorVersionUpgrade") is False:
        report("autoMinorVersionUpgrade is false", None)


@RULES.resource(
    "aws-rds-parametergroup-log-connections",
    types=(PARAMETER_GROUP,),
    description="PostgreSQL parameter groups log every connection (log_connections 1).",
    severity=Severity.MEDIUM,
    remediation="Add log_connections = 1 to the instance's parameter group.",
)
def aws_rds_parametergroup_log_connections(
    args: ResourceValidationArgs, report: ReportViolation
) -> None:
    if not str(args.props.get("family", "")).startswith("postgres"):
        return
    values = {
        p.get("name"): str(number(p.get("value"))) for p in as_list(args.props.get("parameters"))
    }
    if values.get("log_connections") not in ("1", "on", "ON"):
        report(f"log_connections is {values.get('log_connections', 'not set')}, expected 1", None)


@RULES.resource(
    "aws-rds-instance-managed-credentials",
    types=(INSTANCE,),
    description="The master password is generated and kept in Secrets Manager by RDS (never"
    " in the stack), and IAM database authentication is on.",
    severity=Severity.HIGH,
    remediation="Set manageMasterUserPassword and iamDatabaseAuthenticationEnabled to true;"
    " remove password.",
    references=(checkov("CKV_AWS_161"),),
)
def aws_rds_instance_managed_credentials(
    args: ResourceValidationArgs, report: ReportViolation
) -> None:
    if args.props.get("manageMasterUserPassword") is not True:
        report("manageMasterUserPassword is not true", None)
    if args.props.get("password") is not None:
        report("a master password is set in the stack", None)
    if args.props.get("iamDatabaseAuthenticationEnabled") is not True:
        report("iamDatabaseAuthenticationEnabled is not true", None)


@RULES.resource(
    "aws-rds-instance-logging-and-monitoring",
    types=(INSTANCE,),
    description="The instance exports its PostgreSQL log to CloudWatch and has enhanced"
    " monitoring.",
    severity=Severity.MEDIUM,
    remediation="Set enabledCloudwatchLogsExports to include postgresql and monitoringInterval"
    " to 60 with the monitoring role (components/aws/database.py).",
    references=(checkov("CKV_AWS_129"), checkov("CKV_AWS_118")),
)
def aws_rds_instance_logging_and_monitoring(
    args: ResourceValidationArgs, report: ReportViolation
) -> None:
    exports = [str(e) for e in as_list(args.props.get("enabledCloudwatchLogsExports"))]
    if (
        str(args.props.get("engine", "postgres")).startswith("postgres")
        and "postgresql" not in exports
    ):
        report("enabledCloudwatchLogsExports lacks postgresql", None)
    if not number(args.props.get("monitoringInterval") or 0):
        report("monitoringInterval is 0: no enhanced monitoring", None)
