"""Which property changes make the provider replace a stateful resource (delete, then create).

A replaced database, bucket, key, repository or log group loses what it holds, so ``diff`` flags
it. The table lists, per type token the blueprint emits, the inputs (camelCase, top level) that
the provider marks replace-on-change. pulumi-aws bridges the Terraform AWS provider, whose schema
marks these ``ForceNew``; the Python SDK in ``.venv`` carries the names but not that flag, so the
names are checked against the SDK by ``tests/diff/test_replacement.py`` and the flags were read
from the provider schema (aws_db_instance, aws_s3_bucket, aws_kms_key, aws_ecr_repository,
aws_cloudwatch_log_group). Other types are not stateful: a replacement there loses no data.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

REPLACE_ON_CHANGES: dict[str, frozenset[str]] = {
    "aws:rds/instance:Instance": frozenset(
        {
            "availabilityZone",
            "backupTarget",
            "characterSetName",
            "customIamInstanceProfile",
            "dbName",
            "engine",
            "kmsKeyId",
            "ncharCharacterSetName",
            "restoreToPointInTime",
            "s3Import",
            "snapshotIdentifier",
            "storageEncrypted",
            "timezone",
            "username",
        }
    ),
    "aws:s3/bucket:Bucket": frozenset({"bucket", "bucketPrefix", "objectLockEnabled"}),
    "aws:kms/key:Key": frozenset(
        {"customKeyStoreId", "customerMasterKeySpec", "keyUsage", "multiRegion", "xksKeyId"}
    ),
    "aws:ecr/repository:Repository": frozenset({"name", "encryptionConfigurations"}),
    "aws:cloudwatch/logGroup:LogGroup": frozenset({"name", "namePrefix", "logGroupClass"}),
}
"""Stateful type token -> inputs whose change replaces the resource."""

STATEFUL_TYPES = frozenset(REPLACE_ON_CHANGES)

_ROOT = re.compile(r"^[^.\[]+")


def root_property(path: str) -> str:
    """The top-level input of a flattened path: ``encryptionConfigurations[0].kmsKey`` ->
    ``encryptionConfigurations``."""
    match = _ROOT.match(path)
    return match.group(0) if match else path


def replacing_properties(type_token: str, changed_paths: Iterable[str]) -> list[str]:
    """The changed paths that make the provider replace this (stateful) resource."""
    forcing = REPLACE_ON_CHANGES.get(type_token, frozenset())
    return sorted(p for p in changed_paths if root_property(p) in forcing)
