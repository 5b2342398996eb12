"""Azure storage rules: no public access, HTTPS and TLS 1.2 only, no shared keys, recoverable
blobs (soft delete and versioning)."""

from __future__ import annotations

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity

from ..rule import RuleSet, checkov

RULES = RuleSet("storage", substrate="azure")

ACCOUNT = "azure-native:storage:StorageAccount"
CONTAINER = "azure-native:storage:BlobContainer"
BLOB_SERVICE = "azure-native:storage:BlobServiceProperties"
TLS_VERSIONS = ("TLS1_2", "TLS1_3")


@RULES.resource(
    "azure-storage-account-disallow-public-access",
    types=(ACCOUNT, CONTAINER),
    description="No anonymous blob access and no traffic from public networks: the account is"
    " reached through its private endpoint.",
    severity=Severity.CRITICAL,
    remediation="Set allowBlobPublicAccess to false and publicNetworkAccess to Disabled on the"
    " account, and publicAccess None on every container.",
    references=(checkov("CKV_AZURE_190"),),
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
    " containers, and versioning.",
    severity=Severity.MEDIUM,
    remediation="Set isVersioningEnabled, deleteRetentionPolicy.enabled and"
    " containerDeleteRetentionPolicy.enabled to true.",
)
def azure_storage_blobservice_soft_delete_and_versioning(
    args: ResourceValidationArgs, report: ReportViolation
) -> None:
    props = args.props
    if props.get("isVersioningEnabled") is not True:
        report("isVersioningEnabled is not true", None)
    for policy in ("deleteRetentionPolicy", "containerDeleteRetentionPolicy"):
        if (props.get(policy) or {}).get("enabled") is not True:
            report(f"{policy} is not enabled", None)


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
