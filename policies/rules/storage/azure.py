"""Azure storage rules: no public access, HTTPS and TLS 1.2 only, no shared keys, recoverable
blobs (soft delete and versioning), encryption and replication kept in the tenant."""

from __future__ import annotations

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity, StackValidationArgs

from ..graph import number, of_type
from ..rule import RuleSet, checkov, cis_azure

RULES = RuleSet("storage", substrate="azure")

ACCOUNT = "azure-native:storage:StorageAccount"
CONTAINER = "azure-native:storage:BlobContainer"
BLOB_SERVICE = "azure-native:storage:BlobServiceProperties"
TLS_VERSIONS = ("TLS1_2", "TLS1_3")
MIN_SOFT_DELETE_DAYS = 7  # Azure Storage docs, "Soft delete for blobs": 7 days recommended


@RULES.resource(
    "azure-storage-account-disallow-public-access",
    types=(ACCOUNT, CONTAINER),
    description="No anonymous blob access and no traffic from public networks: the account is"
    " reached through its private endpoint, and its firewall denies by default.",
    severity=Severity.CRITICAL,
    remediation="Set allowBlobPublicAccess to false, publicNetworkAccess to Disabled and"
    " networkRuleSet.defaultAction to Deny on the account, and publicAccess None on every"
    " container.",
    references=(
        cis_azure("3.7"),
        cis_azure("3.8"),
        checkov("CKV_AZURE_190"),
        checkov("CKV_AZURE_59"),
        checkov("CKV_AZURE_35"),
        checkov("CKV_AZURE_34"),
    ),
)
def azure_storage_account_disallow_public_access(
    args: ResourceValidationArgs, report: ReportViolation
) -> None:
    props = args.props
    if args.resource_type == CONTAINER:
        if props.get("publicAccess") not in (None, "None"):
            report(f"container publicAccess is {props.get('publicAccess')}", None)
        return
    if props.get("allowBlobPublicAccess") is not False:
        report("allowBlobPublicAccess is not false", None)
    if props.get("publicNetworkAccess") != "Disabled":
        report("publicNetworkAccess is not Disabled", None)
    # Without a rule set the account's firewall allows every network (the service default).
    if (props.get("networkRuleSet") or {}).get("defaultAction") != "Deny":
        report("networkRuleSet.defaultAction is not Deny", None)


@RULES.resource(
    "azure-storage-account-https-tls12",
    types=(ACCOUNT,),
    description="The account accepts HTTPS only, with TLS 1.2 or later.",
    severity=Severity.HIGH,
    remediation="Set enableHttpsTrafficOnly to true and minimumTlsVersion to TLS1_2.",
    references=(checkov("CKV_AZURE_3"), checkov("CKV_AZURE_44")),
)
def azure_storage_account_https_tls12(
    args: ResourceValidationArgs, report: ReportViolation
) -> None:
    if args.props.get("enableHttpsTrafficOnly") is False:
        report("enableHttpsTrafficOnly is false", None)
    version = args.props.get("minimumTlsVersion")
    if version not in TLS_VERSIONS:
        report(f"minimumTlsVersion is {version}, expected TLS1_2 or later", None)


@RULES.resource(
    "azure-storage-account-disallow-shared-key",
    types=(ACCOUNT,),
    description="Account keys and SAS tokens signed with them are refused: clients sign in"
    " with Entra ID.",
    severity=Severity.MEDIUM,
    remediation="Set allowSharedKeyAccess to false and grant the workload identity a Storage"
    " Blob Data role instead.",
)
def azure_storage_account_disallow_shared_key(
    args: ResourceValidationArgs, report: ReportViolation
) -> None:
    if args.props.get("allowSharedKeyAccess") is not False:
        report("allowSharedKeyAccess is not false", None)


@RULES.resource(
    "azure-storage-blobservice-soft-delete-and-versioning",
    types=(BLOB_SERVICE,),
    description="Deleted or overwritten blobs stay recoverable: soft delete for blobs and"
    " containers (at least 7 days), and versioning.",
    severity=Severity.MEDIUM,
    remediation="Set isVersioningEnabled, deleteRetentionPolicy.enabled and"
    " containerDeleteRetentionPolicy.enabled to true, each policy with days of 7 or more.",
    references=(cis_azure("3.11"), checkov("CKV2_AZURE_38")),
)
def azure_storage_blobservice_soft_delete_and_versioning(
    args: ResourceValidationArgs, report: ReportViolation
) -> None:
    props = args.props
    if props.get("isVersioningEnabled") is not True:
        report("isVersioningEnabled is not true", None)
    for policy in ("deleteRetentionPolicy", "containerDeleteRetentionPolicy"):
        settings = props.get(policy) or {}
        if settings.get("enabled") is not True:
            report(f"{policy} is not enabled", None)
        elif number(settings.get("days") or 0) < MIN_SOFT_DELETE_DAYS:
            report(f"{policy}.days is {number(settings.get('days'))}, at least 7 expected", None)


@RULES.stack(
    "azure-storage-account-data-protection",
    description="Every storage account encrypts twice (infrastructure encryption), keeps blob"
    " encryption on, replicates to no other tenant, and has blob service properties (soft"
    " delete, versioning) declared in the stage.",
    severity=Severity.HIGH,
    remediation="Set encryption.requireInfrastructureEncryption true and"
    " allowCrossTenantReplication false on the account, and declare its"
    " storage.BlobServiceProperties (components/azure/storage.py does both).",
    references=(cis_azure("3.2"), cis_azure("3.11"), checkov("CKV2_AZURE_38")),
)
def azure_storage_account_data_protection(
    args: StackValidationArgs, report: ReportViolation
) -> None:
    covered = {str(b.props.get("accountName")) for b in of_type(args.resources, BLOB_SERVICE)}
    for account in of_type(args.resources, ACCOUNT):
        props = account.props
        encryption = props.get("encryption") or {}
        if encryption.get("requireInfrastructureEncryption") is not True:
            report("encryption.requireInfrastructureEncryption is not true", account.urn)
        blob = (encryption.get("services") or {}).get("blob") or {}
        if blob.get("enabled") is False:
            report("encryption.services.blob.enabled is false", account.urn)
        if props.get("allowCrossTenantReplication") is not False:
            report("allowCrossTenantReplication is not false", account.urn)
        if str(props.get("accountName")) not in covered:
            report(
                "no BlobServiceProperties (soft delete, versioning) for the account", account.urn
            )


@RULES.resource(
    "azure-storage-account-disallow-sftp-and-local-users",
    types=(ACCOUNT,),
    description="The account has no SFTP endpoint and no local users: every access goes"
    " through Entra ID and RBAC.",
    severity=Severity.HIGH,
    remediation="Set isSftpEnabled and isLocalUserEnabled to false.",
)
def azure_storage_account_disallow_sftp_and_local_users(
    args: ResourceValidationArgs, report: ReportViolation
) -> None:
    for key in ("isSftpEnabled", "isLocalUserEnabled"):
        if args.props.get(key) is not False:
            report(f"{key} is not false", None)
