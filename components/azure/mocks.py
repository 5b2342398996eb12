"""Azure answers for the offline renderer: ARM ids, FQDNs, login servers and invoke results.

Ids follow ARM: ``/subscriptions/<uuid>/resourceGroups/<rg>/providers/<ns>/<type>/<name>``. A
resource's name is the one the program gave, else the auto-name the provider would generate.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pipeline.mocks import Facts

SUBSCRIPTION = "5f1c2e7a-3b4d-4c6e-8f90-1a2b3c4d5e6f"
TENANT = "0e9d8c7b-6a59-4837-a261-5f4e3d2c1b0a"
CLIENT = "7c6b5a49-3827-4165-9f8e-7d6c5b4a3928"


def _uuid(f: Facts, salt: str) -> str:
    """A stable GUID for one resource (the same in every stage, like its suffix)."""
    return str(uuid.UUID(hashlib.sha256(f"{salt}/{f.suffix}".encode()).hexdigest()[:32]))


def _properties(i: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """The ``properties`` input and whether it arrived as a secret (it holds a secret value)."""
    from pulumi.runtime import rpc

    value = i.get("properties") or {}
    if rpc.is_rpc_secret(value):
        return dict(rpc.unwrap_rpc_secret(value) or {}), True
    return dict(value), False


def _with_properties(i: dict[str, Any], extra: dict[str, Any]) -> Any:
    """The provider's ``properties`` output: the inputs plus what it computed, still secret
    if the inputs were."""
    from pulumi.runtime import rpc

    value, secret = _properties(i)
    merged = {**value, **extra}
    return rpc.wrap_rpc_secret(merged) if secret else merged


def _name(i: dict[str, Any], key: str, f: Facts) -> str:
    return str(i.get(key) or f.physical)


def _group(i: dict[str, Any]) -> str:
    return f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{i.get('resourceGroupName', '')}"


def _arm(provider: str, key: str) -> Any:
    """Outputs of a top-level resource: ``<group>/providers/<provider>/<name>``."""

    def outputs(i: dict[str, Any], f: Facts) -> dict[str, Any]:
        name = _name(i, key, f)
        return {"id": f"{_group(i)}/providers/{provider}/{name}", "name": name}

    return outputs


def _nested(provider: str, parent_key: str, kind: str, key: str) -> Any:
    """Outputs of a child resource: ``<group>/providers/<provider>/<parent>/<kind>/<name>``."""

    def outputs(i: dict[str, Any], f: Facts) -> dict[str, Any]:
        name = _name(i, key, f)
        parent = i.get(parent_key, "")
        return {"id": f"{_group(i)}/providers/{provider}/{parent}/{kind}/{name}", "name": name}

    return outputs


def _resource_group(i: dict[str, Any], f: Facts) -> dict[str, Any]:
    name = _name(i, "resourceGroupName", f)
    return {
        "id": f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{name}",
        "name": name,
        "properties": {"provisioningState": "Succeeded"},
    }


def _environment_domain(environment: str, f: Facts) -> str:
    """The default domain Container Apps gives an environment (stable per environment)."""
    base = environment.removeprefix(f"{f.stack}-")
    return f"{hashlib.sha256(base.encode()).hexdigest()[:10]}.{f.region}.azurecontainerapps.io"


def _managed_environment(i: dict[str, Any], f: Facts) -> dict[str, Any]:
    out = _arm("Microsoft.App/managedEnvironments", "environmentName")(i, f)
    return {
        **out,
        "defaultDomain": _environment_domain(out["name"], f),
        "staticIp": "20.105.0.10",
        "provisioningState": "Succeeded",
    }


def _identity_output(identity: Any) -> Any:
    """Requests list user-assigned identity ids; responses map each id to its principal."""
    if not isinstance(identity, dict):
        return identity
    ids = identity.get("userAssignedIdentities") or []
    return {
        **identity,
        "userAssignedIdentities": {
            str(ref): {
                "principalId": str(uuid.uuid5(uuid.NAMESPACE_URL, f"principal:{ref}")),
                "clientId": str(uuid.uuid5(uuid.NAMESPACE_URL, f"client:{ref}")),
            }
            for ref in ids
        },
    }


def _container_app(i: dict[str, Any], f: Facts) -> dict[str, Any]:
    out = _arm("Microsoft.App/containerApps", "containerAppName")(i, f)
    environment = str(i.get("managedEnvironmentId", "")).rsplit("/", 1)[-1]
    domain = _environment_domain(environment, f)
    configuration = dict(i.get("configuration") or {})
    if "ingress" in configuration:
        configuration["ingress"] = {**configuration["ingress"], "fqdn": f"{out['name']}.{domain}"}
    return {
        **out,
        "identity": _identity_output(i.get("identity")),
        "configuration": configuration,
        "latestRevisionName": f"{out['name']}--0000001",
        "latestRevisionFqdn": f"{out['name']}--0000001.{domain}",
        "outboundIpAddresses": ["20.105.0.11"],
        "provisioningState": "Succeeded",
    }


def _registry(i: dict[str, Any], f: Facts) -> dict[str, Any]:
    out = _arm("Microsoft.ContainerRegistry/registries", "registryName")(i, f)
    return {**out, "loginServer": f"{out['name'].lower()}.azurecr.io"}


def _postgres(i: dict[str, Any], f: Facts) -> dict[str, Any]:
    out = _arm("Microsoft.DBforPostgreSQL/flexibleServers", "serverName")(i, f)
    return {
        **out,
        "fullyQualifiedDomainName": f"{out['name']}.postgres.database.azure.com",
        "state": "Ready",
    }


def _storage_account(i: dict[str, Any], f: Facts) -> dict[str, Any]:
    out = _arm("Microsoft.Storage/storageAccounts", "accountName")(i, f)
    name = out["name"]
    return {
        **out,
        "primaryEndpoints": {
            kind: f"https://{name}.{kind}.core.windows.net/"
            for kind in ("blob", "dfs", "file", "queue", "table", "web")
        },
        "primaryLocation": f.region,
        "provisioningState": "Succeeded",
    }


def _vault(i: dict[str, Any], f: Facts) -> dict[str, Any]:
    out = _arm("Microsoft.KeyVault/vaults", "vaultName")(i, f)
    uri = f"https://{out['name']}.vault.azure.net/"
    return {**out, "properties": _with_properties(i, {"vaultUri": uri})}


def _secret(i: dict[str, Any], f: Facts) -> dict[str, Any]:
    out = _nested("Microsoft.KeyVault/vaults", "vaultName", "secrets", "secretName")(i, f)
    uri = f"https://{i.get('vaultName', '')}.vault.azure.net/secrets/{out['name']}"
    computed = {"secretUri": uri, "secretUriWithVersion": f"{uri}/{f.suffix}{'0' * 24}"}
    return {**out, "properties": _with_properties(i, computed)}


def _identity(i: dict[str, Any], f: Facts) -> dict[str, Any]:
    out = _arm(
        "Microsoft.ManagedIdentity/userAssignedIdentities",
        "resourceName",
    )(i, f)
    return {
        **out,
        "principalId": _uuid(f, "principal"),
        "clientId": _uuid(f, "client"),
        "tenantId": TENANT,
    }


def _role_assignment(i: dict[str, Any], f: Facts) -> dict[str, Any]:
    name = str(i.get("roleAssignmentName") or _uuid(f, "assignment"))
    return {
        "id": f"{i.get('scope', '')}/providers/Microsoft.Authorization/roleAssignments/{name}",
        "name": name,
    }


def _workspace(i: dict[str, Any], f: Facts) -> dict[str, Any]:
    out = _arm("Microsoft.OperationalInsights/workspaces", "workspaceName")(i, f)
    return {**out, "customerId": _uuid(f, "workspace")}


def _entra_admin(i: dict[str, Any], f: Facts) -> dict[str, Any]:
    server, object_id = i.get("serverName", ""), i.get("objectId", "")
    provider = "Microsoft.DBforPostgreSQL/flexibleServers"
    return {
        "id": f"{_group(i)}/providers/{provider}/{server}/administrators/{object_id}",
        "name": object_id,
    }


def _private_endpoint(i: dict[str, Any], f: Facts) -> dict[str, Any]:
    out = _arm("Microsoft.Network/privateEndpoints", "privateEndpointName")(i, f)
    nic = f"{_group(i)}/providers/Microsoft.Network/networkInterfaces/{out['name']}.nic"
    return {**out, "networkInterfaces": [{"id": nic}], "provisioningState": "Succeeded"}


def _shared_keys(args: dict[str, Any], f: Facts) -> dict[str, Any]:
    digest = hashlib.sha256(str(args.get("workspaceName", "")).encode()).hexdigest()
    return {"primarySharedKey": f"{digest[:43]}=", "secondarySharedKey": f"{digest[21:64]}="}


_DB = "Microsoft.DBforPostgreSQL/flexibleServers"
_STORAGE = "Microsoft.Storage/storageAccounts"

RESOURCES = {
    "azure-native:resources:ResourceGroup": _resource_group,
    "azure-native:network:VirtualNetwork": _arm(
        "Microsoft.Network/virtualNetworks", "virtualNetworkName"
    ),
    "azure-native:network:Subnet": _nested(
        "Microsoft.Network/virtualNetworks", "virtualNetworkName", "subnets", "subnetName"
    ),
    "azure-native:network:NetworkSecurityGroup": _arm(
        "Microsoft.Network/networkSecurityGroups", "networkSecurityGroupName"
    ),
    "azure-native:network:PrivateEndpoint": _private_endpoint,
    "azure-native:network:PrivateDnsZoneGroup": _nested(
        "Microsoft.Network/privateEndpoints",
        "privateEndpointName",
        "privateDnsZoneGroups",
        "privateDnsZoneGroupName",
    ),
    "azure-native:privatedns:PrivateZone": _arm(
        "Microsoft.Network/privateDnsZones", "privateZoneName"
    ),
    "azure-native:privatedns:VirtualNetworkLink": _nested(
        "Microsoft.Network/privateDnsZones",
        "privateZoneName",
        "virtualNetworkLinks",
        "virtualNetworkLinkName",
    ),
    "azure-native:operationalinsights:Workspace": _workspace,
    "azure-native:app:ManagedEnvironment": _managed_environment,
    "azure-native:app:ContainerApp": _container_app,
    "azure-native:containerregistry:Registry": _registry,
    "azure-native:dbforpostgresql:Server": _postgres,
    "azure-native:dbforpostgresql:AdministratorsMicrosoftEntra": _entra_admin,
    "azure-native:dbforpostgresql:Database": _nested(
        _DB, "serverName", "databases", "databaseName"
    ),
    "azure-native:dbforpostgresql:Configuration": _nested(
        _DB, "serverName", "configurations", "configurationName"
    ),
    "azure-native:storage:StorageAccount": _storage_account,
    "azure-native:storage:BlobServiceProperties": _nested(
        _STORAGE, "accountName", "blobServices", "blobServicesName"
    ),
    "azure-native:storage:BlobContainer": lambda i, f: {
        "id": f"{_group(i)}/providers/{_STORAGE}/{i.get('accountName', '')}/blobServices/default"
        f"/containers/{_name(i, 'containerName', f)}",
        "name": _name(i, "containerName", f),
    },
    "azure-native:keyvault:Vault": _vault,
    "azure-native:keyvault:Secret": _secret,
    "azure-native:managedidentity:UserAssignedIdentity": _identity,
    "azure-native:authorization:RoleAssignment": _role_assignment,
}

CALLS = {
    "azure-native:authorization:getClientConfig": lambda a, f: {
        "clientId": CLIENT,
        "objectId": CLIENT,
        "subscriptionId": SUBSCRIPTION,
        "tenantId": TENANT,
    },
    "azure-native:operationalinsights:getSharedKeys": _shared_keys,
}
