"""The Azure rules over gRPC, as the engine runs them: the shipped Azure stages are the compliant
baseline, and each case changes one property (or drops one resource) and expects exactly that
rule to fire, with the stage's enforcement level."""

from __future__ import annotations

import copy
import importlib
import inspect
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from components.spec import read_stack
from pipeline.policy import PolicyHarness
from pipeline.render import StageRender
from policies.rules.tags.azure import TAGGABLE
from tests.conftest import PROJECT_DIR, STACKS_DIR
from tests.policies.conftest import Shipped
from tests.policies.mutate import (
    Case,
    Change,
    assert_only,
    drop_input,
    resource,
    seen,
    set_input,
    set_option,
)

APP = "azure-native:app:ContainerApp"
SERVER = "azure-native:dbforpostgresql:Server"
CONFIGURATION = "azure-native:dbforpostgresql:Configuration"
REGISTRY = "azure-native:containerregistry:Registry"
ACCOUNT = "azure-native:storage:StorageAccount"
VAULT = "azure-native:keyvault:Vault"
NSG = "azure-native:network:NetworkSecurityGroup"
ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"
ENVIRONMENT = "azure-native:app:ManagedEnvironment"
ENDPOINT = "azure-native:network:PrivateEndpoint"
WORKSPACE = "azure-native:operationalinsights:Workspace"
FIREWALL_RULE = "azure-native:dbforpostgresql:FirewallRule"


def drop(type_token: str, suffix: str) -> Change:
    def change(resources: list[dict[str, Any]]) -> None:
        resources.remove(resource(resources, type_token, suffix))

    return change


def add_firewall_rule(start: str, end: str) -> Change:
    """A server firewall rule beside the server (same parent), as a careless change adds it."""

    def change(resources: list[dict[str, Any]]) -> None:
        server = resource(resources, SERVER, "database-postgres")
        rule = copy.deepcopy(server)
        rule.update(
            type=FIREWALL_RULE,
            name=server["name"].replace("postgres", "anyone"),
            urn=server["urn"].replace(SERVER, FIREWALL_RULE).replace("postgres", "anyone"),
            inputs={"startIpAddress": start, "endIpAddress": end, "serverName": "s"},
            options={},
        )
        resources.append(rule)

    return change


def drop_nsg_rule(suffix: str, name: str) -> Change:
    def change(resources: list[dict[str, Any]]) -> None:
        inputs = resource(resources, NSG, suffix)["inputs"]
        inputs["securityRules"] = [r for r in inputs["securityRules"] if r["name"] != name]

    return change


@pytest.fixture(scope="module")
def pack() -> Iterator[PolicyHarness]:
    with PolicyHarness(PROJECT_DIR / "policies") as harness:
        yield harness


@pytest.fixture(scope="module")
def shipped(stages: dict[str, StageRender]) -> dict[str, Shipped]:
    return {
        stack.removeprefix("azure-"): Shipped(
            stack, render.resources, render.outputs, dict(read_stack(STACKS_DIR, stack).values)
        )
        for stack, render in stages.items()
        if stack in ("azure-dev", "azure-live")
    }


def image(suffix: str, rewrite: Callable[[str], str]) -> Change:
    def change(resources: list[dict[str, Any]]) -> None:
        container = resource(resources, APP, suffix)["inputs"]["template"]["containers"][0]
        container["image"] = rewrite(container["image"])

    return change


def add_env(suffix: str, variable: dict[str, str]) -> Change:
    def change(resources: list[dict[str, Any]]) -> None:
        container = resource(resources, APP, suffix)["inputs"]["template"]["containers"][0]
        container["env"].append(variable)

    return change


def nsg_rule(suffix: str, **rule: Any) -> Change:
    def change(resources: list[dict[str, Any]]) -> None:
        rules = resource(resources, NSG, suffix)["inputs"]["securityRules"]
        rules.insert(0, {"direction": "Inbound", "access": "Allow", "protocol": "Tcp", **rule})

    return change


CASES = [
    Case("ssh-from-internet", "azure-network-nsg-disallow-internet-ingress-except-https",
         nsg_rule("database-nsg", name="ssh", priority=90, sourceAddressPrefix="Internet",
                  destinationPortRange="22"),
         "rule ssh allows inbound from the internet to port(s) 22",
         "azure-live-network-database-nsg"),
    Case("public-prefix-to-postgres", "azure-network-nsg-disallow-internet-ingress-except-https",
         set_input(NSG, "database-nsg", "securityRules.0.sourceAddressPrefix", "0.0.0.0/1"),
         "rule postgres-from-apps allows inbound from the internet to port(s) 5432",
         "azure-live-network-database-nsg"),
    Case("vnet-to-postgres", "azure-network-nsg-tier-isolation",
         set_input(NSG, "database-nsg", "securityRules.0.sourceAddressPrefix", "VirtualNetwork"),
         "rule postgres-from-apps admits any source (virtualnetwork)",
         "azure-live-network-database-nsg"),
    Case("database-tier-open-to-vnet", "azure-network-nsg-tier-isolation",
         drop_nsg_rule("database-nsg", "deny-vnet"),
         "a private tier's NSG has no inbound Deny from VirtualNetwork",
         "azure-live-network-database-nsg"),
    Case("vault-without-endpoint", "azure-network-privateendpoint-for-every-data-service",
         drop(ENDPOINT, "keys-vault-endpoint"), "has no private endpoint", "azure-live-keys-vault"),
    Case("firewall-any", "azure-dbforpostgresql-firewallrule-disallow-public",
         add_firewall_rule("0.0.0.0", "255.255.255.255"),
         "the rule admits public addresses (0.0.0.0 to 255.255.255.255)",
         "azure-live-database-anyone"),
    Case("firewall-azure-services", "azure-dbforpostgresql-firewallrule-disallow-public",
         add_firewall_rule("0.0.0.0", "0.0.0.0"),
         "the rule admits every Azure service", "azure-live-database-anyone"),
    Case("log-connections-undeclared", "azure-dbforpostgresql-server-parameters-managed",
         drop(CONFIGURATION, "log-connections"), "log_connections is not declared",
         "azure-live-database-postgres"),
    Case("no-infrastructure-encryption", "azure-storage-account-data-protection",
         set_input(ACCOUNT, "storage-account", "encryption.requireInfrastructureEncryption",
                   False),
         "encryption.requireInfrastructureEncryption is not true", "azure-live-storage-account"),
    Case("environment-outside-vnet", "azure-app-managedenvironment-in-stage-vnet",
         drop_input(ENVIRONMENT, "services-environment", "vnetConfiguration"),
         "vnetConfiguration.infrastructureSubnetId is not set", "azure-live-services-environment"),
    Case("no-workspace", "azure-operationalinsights-workspace-in-stage",
         drop(WORKSPACE, "logs-workspace"), "the stage has no Log Analytics workspace",
         "azure-live-services-environment"),
    Case("subnet-without-nsg", "azure-network-subnet-has-nsg",
         drop_input("azure-native:network:Subnet", "endpoints-subnet", "networkSecurityGroup"),
         "subnet has no network security group", "azure-live-network-endpoints-subnet"),
    Case("image-by-tag", "azure-app-containerapp-image-pinned-by-digest",
         image("services-api", lambda i: i.split("@")[0] + ":latest"),
         "is not an Azure container registry image pinned by digest", "azure-live-services-api"),
    Case("image-other-stage", "azure-app-containerapp-image-from-stage-registry",
         image("services-web", lambda i: i.replace("azurelive", "azuredev", 1)),
         "is not in a registry of this stack", "azure-live-services-web"),
    Case("plain-http", "azure-app-containerapp-https-only",
         set_input(APP, "services-api", "configuration.ingress.allowInsecure", True),
         "ingress allowInsecure is true", "azure-live-services-api"),
    Case("registry-password", "azure-app-containerapp-registry-by-identity",
         set_input(APP, "services-web", "configuration.registries.0",
                   {"server": "x.azurecr.io", "username": "x", "passwordSecretRef": "pw"}),
         "registry x.azurecr.io is pulled with a username and password",
         "azure-live-services-web"),
    Case("plain-secret-env", "azure-app-containerapp-secrets-by-reference",
         add_env("services-api", {"name": "DB_PASSWORD", "value": "hunter2"}),
         "DB_PASSWORD is a plain environment value", "azure-live-services-api"),
    Case("plain-pass-env", "azure-app-containerapp-secrets-by-reference",
         add_env("services-web", {"name": "REDIS_PASS", "value": "hunter2"}),
         "REDIS_PASS is a plain environment value", "azure-live-services-web"),
    Case("url-credentials-env", "azure-app-containerapp-secrets-by-reference",
         add_env("services-api", {"name": "BROKER", "value": "amqps://svc:hunter2@mq/vhost"}),
         "BROKER embeds credentials in a URL", "azure-live-services-api"),
    Case("secret-value", "azure-app-containerapp-secrets-by-reference",
         set_input(APP, "services-api", "configuration.secrets",
                   [{"name": "api-key", "value": "hunter2"}]),
         "secret api-key is not a Key Vault reference", "azure-live-services-api"),
    Case("admin-user", "azure-containerregistry-registry-disallow-admin-user",
         set_input(REGISTRY, "registry-acr", "adminUserEnabled", True),
         "adminUserEnabled is not false", "azure-live-registry-acr"),
    Case("anonymous-pull", "azure-containerregistry-registry-disallow-anonymous-pull",
         set_input(REGISTRY, "registry-acr", "anonymousPullEnabled", True),
         "anonymousPullEnabled is true", "azure-live-registry-acr"),
    Case("registry-public", "azure-containerregistry-registry-disallow-public-network-access",
         set_input(REGISTRY, "registry-acr", "publicNetworkAccess", "Enabled"),
         "publicNetworkAccess is not Disabled", "azure-live-registry-acr"),
    Case("registry-basic", "azure-containerregistry-registry-disallow-public-network-access",
         set_input(REGISTRY, "registry-acr", "sku.name", "Basic"),
         "sku is Basic", "azure-live-registry-acr"),
    Case("public-db", "azure-dbforpostgresql-server-disallow-public-access",
         set_input(SERVER, "database-postgres", "network.publicNetworkAccess", "Enabled"),
         "network.publicNetworkAccess is not Disabled", "azure-live-database-postgres"),
    Case("tls-optional", "azure-dbforpostgresql-configuration-require-tls",
         set_input(CONFIGURATION, "require-secure-transport", "value", "off"),
         "require_secure_transport is off", "azure-live-database-require-secure-transport"),
    Case("tls-1.0", "azure-dbforpostgresql-configuration-require-tls",
         set_input(CONFIGURATION, "ssl-min-protocol-version", "value", "TLSv1"),
         "ssl_min_protocol_version is TLSv1", "azure-live-database-ssl-min-protocol-version"),
    Case("password-auth", "azure-dbforpostgresql-server-entra-only",
         set_input(SERVER, "database-postgres", "authConfig.passwordAuth", "Enabled"),
         "authConfig.passwordAuth is not Disabled", "azure-live-database-postgres"),
    Case("short-backups-live", "azure-dbforpostgresql-server-backup-retention",
         set_input(SERVER, "database-postgres", "backup.backupRetentionDays", 7),
         "backup.backupRetentionDays is 7 day(s), the stage requires 14",
         "azure-live-database-postgres"),
    Case("no-ha-live", "azure-dbforpostgresql-server-zone-redundant-ha",
         set_input(SERVER, "database-postgres", "highAvailability.mode", "Disabled"),
         "highAvailability.mode is Disabled", "azure-live-database-postgres"),
    Case("no-geo-backup-live", "azure-dbforpostgresql-server-geo-redundant-backup",
         set_input(SERVER, "database-postgres", "backup.geoRedundantBackup", "Disabled"),
         "backup.geoRedundantBackup is not Enabled", "azure-live-database-postgres"),
    Case("public-blobs", "azure-storage-account-disallow-public-access",
         set_input(ACCOUNT, "storage-account", "allowBlobPublicAccess", True),
         "allowBlobPublicAccess is not false", "azure-live-storage-account"),
    Case("public-container", "azure-storage-account-disallow-public-access",
         set_input("azure-native:storage:BlobContainer", "storage-container", "publicAccess",
                   "Blob"),
         "container publicAccess is Blob", "azure-live-storage-container"),
    Case("tls-1.0-storage", "azure-storage-account-https-tls12",
         set_input(ACCOUNT, "storage-account", "minimumTlsVersion", "TLS1_0"),
         "minimumTlsVersion is TLS1_0", "azure-live-storage-account"),
    Case("shared-key", "azure-storage-account-disallow-shared-key",
         set_input(ACCOUNT, "storage-account", "allowSharedKeyAccess", True),
         "allowSharedKeyAccess is not false", "azure-live-storage-account"),
    Case("no-versioning", "azure-storage-blobservice-soft-delete-and-versioning",
         set_input("azure-native:storage:BlobServiceProperties", "storage-blob-service",
                   "isVersioningEnabled", False),
         "isVersioningEnabled is not true", "azure-live-storage-blob-service"),
    Case("access-policies", "azure-keyvault-vault-rbac-and-soft-delete",
         set_input(VAULT, "keys-vault", "properties.enableRbacAuthorization", False),
         "enableRbacAuthorization is not true", "azure-live-keys-vault"),
    Case("public-vault", "azure-keyvault-vault-disallow-public-network-access",
         lambda rs: (
             set_input(VAULT, "keys-vault", "properties.publicNetworkAccess", "Enabled")(rs),
             set_input(VAULT, "keys-vault", "properties.networkAcls.defaultAction", "Allow")(rs),
         ),
         "the vault is reachable from public networks", "azure-live-keys-vault"),
    Case("no-purge-protection-live", "azure-keyvault-vault-purge-protection",
         drop_input(VAULT, "keys-vault", "properties.enablePurgeProtection"),
         "enablePurgeProtection is not true", "azure-live-keys-vault"),
    Case("short-logs-live", "azure-operationalinsights-workspace-retention",
         set_input("azure-native:operationalinsights:Workspace", "logs-workspace",
                   "retentionInDays", 90),
         "retentionInDays is 90, the stage requires at least 365", "azure-live-logs-workspace"),
    Case("untagged-owner", "azure-all-taggable-required-tags",
         lambda rs: resource(rs, "azure-native:network:VirtualNetwork", "network-vnet")[
             "inputs"]["tags"].pop("owner"),
         "missing tag(s): owner", "azure-live-network-vnet"),
    Case("wrong-stage-tag-dev", "azure-all-taggable-required-tags",
         set_input(VAULT, "keys-vault", "tags.stage", "live"),
         "tag stage is live, but this is the dev stage", "azure-dev-keys-vault", "dev"),
    Case("engine-drift", "azure-dbforpostgresql-server-engine-pinned",
         set_input(SERVER, "database-postgres", "version", "15"),
         "azure-live-database-postgres runs PostgreSQL 15, pinned 16",
         "azure-live-database-postgres"),
    Case("missing-component", "azure-blueprint-component-exactly-once",
         drop("stageline:azure:Registry", "azure-live-registry"),
         "stageline:azure:Registry is present 0 time(s)",
         "pulumi:pulumi:Stack::stageline-azure-live"),
    Case("owner-role", "azure-authorization-roleassignment-least-privilege",
         set_input(ROLE_ASSIGNMENT, "registry-pull", "roleDefinitionId",
                   lambda r: r.rsplit("/", 1)[0] + "/8e3af657-a8ff-443c-a75c-2fe8c4bcb635"),
         "roleDefinitionId grants Owner", "azure-live-registry-pull"),
    Case("contributor-role", "azure-authorization-roleassignment-least-privilege",
         set_input(ROLE_ASSIGNMENT, "storage-writer", "roleDefinitionId",
                   lambda r: r.rsplit("/", 1)[0] + "/b24988ac-6180-42a0-ab88-20f7382dd24c"),
         "roleDefinitionId grants Contributor", "azure-live-storage-writer"),
    Case("resource-group-scope", "azure-authorization-roleassignment-least-privilege",
         set_input(ROLE_ASSIGNMENT, "keys-secrets-user", "scope",
                   lambda s: s.split("/providers/")[0]),
         "is broader than one resource", "azure-live-keys-secrets-user"),
    Case("subscription-scope", "azure-authorization-roleassignment-least-privilege",
         set_input(ROLE_ASSIGNMENT, "registry-pull", "scope",
                   lambda s: s.split("/resourceGroups/")[0]),
         "is broader than one resource", "azure-live-registry-pull"),
    Case("acr-export", "azure-containerregistry-registry-disallow-export",
         set_input(REGISTRY, "registry-acr", "policies.exportPolicy.status", "enabled"),
         "policies.exportPolicy.status is enabled", "azure-live-registry-acr"),
    Case("sftp", "azure-storage-account-disallow-sftp-and-local-users",
         set_input(ACCOUNT, "storage-account", "isSftpEnabled", True),
         "isSftpEnabled is not false", "azure-live-storage-account"),
    Case("local-users", "azure-storage-account-disallow-sftp-and-local-users",
         drop_input(ACCOUNT, "storage-account", "isLocalUserEnabled"),
         "isLocalUserEnabled is not false", "azure-live-storage-account"),
    Case("environment-no-logs", "azure-app-managedenvironment-logs-and-peer-encryption",
         drop_input(ENVIRONMENT, "services-environment", "appLogsConfiguration"),
         "appLogsConfiguration.destination is unset", "azure-live-services-environment"),
    Case("environment-peer-plaintext", "azure-app-managedenvironment-logs-and-peer-encryption",
         set_input(ENVIRONMENT, "services-environment",
                   "peerTrafficConfiguration.encryption.enabled", False),
         "peerTrafficConfiguration.encryption.enabled is not true",
         "azure-live-services-environment"),
    Case("unprotected-db-live", "azure-dbforpostgresql-server-deletion-protection",
         set_option(SERVER, "database-postgres", "protect", False),
         "has neither protect nor a CanNotDelete lock", "azure-live-database-postgres"),
]  # fmt: skip


def test_a_management_lock_protects_the_database_as_well_as_protect(
    pack: PolicyHarness, shipped: dict[str, Shipped]
) -> None:
    def lock_instead_of_protect(resources: list[dict[str, Any]]) -> None:
        server = resource(resources, SERVER, "database-postgres")
        server["options"]["protect"] = False
        lock = copy.deepcopy(server)
        lock.update(
            type="azure-native:authorization:ManagementLockByScope",
            name="azure-live-database-lock",
            urn=server["urn"]
            .replace(SERVER, "azure-native:authorization:ManagementLockByScope")
            .replace("database-postgres", "database-lock"),
            inputs={
                "level": "CanNotDelete",
                "scope": "/subscriptions/s/resourceGroups/rg/"
                "providers/Microsoft.DBforPostgreSQL/flexibleServers/"
                + server["inputs"].get("serverName", server["name"]),
            },
        )
        resources.append(lock)

    result = pack.analyze(shipped["live"].graph(lock_instead_of_protect))
    assert not [d for d in result.diagnostics if "deletion-protection" in d.policy], seen(
        result.diagnostics
    )


@pytest.mark.parametrize("stage", ["dev", "live"])
def test_shipped_azure_stage_is_the_compliant_baseline(
    pack: PolicyHarness, shipped: dict[str, Shipped], stage: str
) -> None:
    result = pack.analyze(shipped[stage].graph())
    assert result.diagnostics == [], f"azure-{stage}: {seen(result.diagnostics)}"
    azure_rules = {p.name for p in pack.policies() if p.name.startswith("azure-")}
    ran = set(result.enabled) & azure_rules
    assert ran, "no Azure rule ran"
    assert ran <= set(result.passed)
    live_only = {
        "azure-dbforpostgresql-server-zone-redundant-ha",
        "azure-dbforpostgresql-server-geo-redundant-backup",
        "azure-keyvault-vault-purge-protection",
        "azure-dbforpostgresql-server-deletion-protection",
    }
    assert ran == (azure_rules if stage == "live" else azure_rules - live_only)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_changing_one_property_fires_exactly_that_rule(
    pack: PolicyHarness, shipped: dict[str, Shipped], case: Case
) -> None:
    result = pack.analyze(shipped[case.stage].graph(case.change))
    assert_only(result.diagnostics, case.policy, case.urn, case.message, case.enforcement)


def test_live_only_rules_stay_silent_in_dev(
    pack: PolicyHarness, shipped: dict[str, Shipped]
) -> None:
    """azure-dev has no purge protection and no zone-redundant HA by design."""
    graph = shipped["dev"].graph(
        set_input(SERVER, "database-postgres", "highAvailability.mode", "Disabled")
    )
    result = pack.analyze(graph)
    assert result.diagnostics == [], seen(result.diagnostics)
    assert "azure-keyvault-vault-purge-protection" not in result.enabled


def test_every_azure_rule_has_a_failing_case(pack: PolicyHarness) -> None:
    names = {p.name for p in pack.policies() if p.name.startswith("azure-")}
    covered = {c.policy for c in CASES}
    assert names - covered == set(), f"rules without a failing case: {sorted(names - covered)}"


def _taggable(token: str) -> bool:
    _, module, name = token.split(":")
    cls = getattr(importlib.import_module(f"pulumi_azure_native.{module}"), name)
    return "tags" in inspect.signature(cls._internal_init).parameters


def test_taggable_list_matches_the_sdk_and_the_blueprint(stages: dict[str, StageRender]) -> None:
    used = {r["type"] for r in stages["azure-live"].resources if r["custom"]}
    assert {t for t in used if _taggable(t)} <= TAGGABLE, "a taggable type the rule skips"
    # Key Vault secrets appear only when a stage sets stageline:secrets.
    assert all(_taggable(t) for t in TAGGABLE), [t for t in TAGGABLE if not _taggable(t)]
