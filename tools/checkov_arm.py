"""Turn an Azure stage's offline render into the ARM template JSON that Checkov reads.

azure-native is generated from the Azure REST API specifications, so each resource is an ARM
resource: the type token ``azure-native:<module>:<Name>`` is a resource type of a provider
namespace (``storage:StorageAccount`` is ``Microsoft.Storage/storageAccounts``; the table below
is read from the Azure REST API reference of each type). azure-native flattens an ARM body's
``properties`` into the resource's inputs; this puts them back: the envelope keys (location,
tags, sku, kind, identity, zones) stay at the top, the URL parameters (resourceGroupName and the
resource's own ``...Name``) become the ``name``, everything else goes under ``properties``, and
the sub-resources ARM nests the same way (an NSG's securityRules, a private endpoint's
connections) get their own ``properties``.

Run ``python tools/checkov_arm.py DIR [STACK ...]`` (every Azure stage by default), then
``checkov -f DIR/<stack>.json --framework arm``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

SCHEMA = "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#"
# token -> (ARM resource type, the input that holds the resource's own name).
ARM_TYPES = {
    "azure-native:resources:ResourceGroup": ("Microsoft.Resources/resourceGroups", ""),
    "azure-native:managedidentity:UserAssignedIdentity": (
        "Microsoft.ManagedIdentity/userAssignedIdentities",
        "resourceName",
    ),
    "azure-native:storage:StorageAccount": ("Microsoft.Storage/storageAccounts", "accountName"),
    "azure-native:storage:BlobServiceProperties": (
        "Microsoft.Storage/storageAccounts/blobServices",
        "blobServicesName",
    ),
    "azure-native:storage:BlobContainer": (
        "Microsoft.Storage/storageAccounts/blobServices/containers",
        "containerName",
    ),
    "azure-native:containerregistry:Registry": (
        "Microsoft.ContainerRegistry/registries",
        "registryName",
    ),
    "azure-native:keyvault:Vault": ("Microsoft.KeyVault/vaults", "vaultName"),
    "azure-native:dbforpostgresql:Server": (
        "Microsoft.DBforPostgreSQL/flexibleServers",
        "serverName",
    ),
    "azure-native:dbforpostgresql:Configuration": (
        "Microsoft.DBforPostgreSQL/flexibleServers/configurations",
        "configurationName",
    ),
    "azure-native:dbforpostgresql:Database": (
        "Microsoft.DBforPostgreSQL/flexibleServers/databases",
        "databaseName",
    ),
    "azure-native:dbforpostgresql:FirewallRule": (
        "Microsoft.DBforPostgreSQL/flexibleServers/firewallRules",
        "firewallRuleName",
    ),
    "azure-native:dbforpostgresql:AdministratorsMicrosoftEntra": (
        "Microsoft.DBforPostgreSQL/flexibleServers/administrators",
        "objectId",
    ),
    "azure-native:network:VirtualNetwork": (
        "Microsoft.Network/virtualNetworks",
        "virtualNetworkName",
    ),
    "azure-native:network:Subnet": ("Microsoft.Network/virtualNetworks/subnets", "subnetName"),
    "azure-native:network:NetworkSecurityGroup": (
        "Microsoft.Network/networkSecurityGroups",
        "networkSecurityGroupName",
    ),
    "azure-native:network:SecurityRule": (
        "Microsoft.Network/networkSecurityGroups/securityRules",
        "securityRuleName",
    ),
    "azure-native:network:PrivateEndpoint": (
        "Microsoft.Network/privateEndpoints",
        "privateEndpointName",
    ),
    "azure-native:network:PrivateDnsZoneGroup": (
        "Microsoft.Network/privateEndpoints/privateDnsZoneGroups",
        "privateDnsZoneGroupName",
    ),
    "azure-native:privatedns:PrivateZone": ("Microsoft.Network/privateDnsZones", "privateZoneName"),
    "azure-native:privatedns:VirtualNetworkLink": (
        "Microsoft.Network/privateDnsZones/virtualNetworkLinks",
        "virtualNetworkLinkName",
    ),
    "azure-native:operationalinsights:Workspace": (
        "Microsoft.OperationalInsights/workspaces",
        "workspaceName",
    ),
    "azure-native:app:ManagedEnvironment": ("Microsoft.App/managedEnvironments", "environmentName"),
    "azure-native:app:ContainerApp": ("Microsoft.App/containerApps", "containerAppName"),
    "azure-native:authorization:RoleAssignment": (
        "Microsoft.Authorization/roleAssignments",
        "roleAssignmentName",
    ),
}
# Inputs azure-native names after the REST spec's x-ms-client-name, back to the ARM property.
RENAMES = {"azure-native:storage:StorageAccount": {"networkRuleSet": "networkAcls"}}
API_VERSION = "2023-05-01"
ENVELOPE = ("location", "tags", "sku", "kind", "identity", "zones", "plan", "extendedLocation")
# URL parameters of the types above: they name the resource or its parents, never the body.
URL_PARAMETERS = {name for _, name in ARM_TYPES.values() if name} | {
    "resourceGroupName",
    "serverName",
    "networkSecurityGroupName",
    "privateEndpointName",
}
URL_PARAMETERS -= {"objectId"}  # an Entra administrator's object id is also in its body
# Lists of sub-resources that ARM writes as {name, properties} (Azure REST API reference).
NESTED = {
    "securityRules",
    "subnets",
    "delegations",
    "privateLinkServiceConnections",
    "privateDnsZoneConfigs",
}


def _nested(key: str, value: Any) -> Any:
    if key in NESTED and isinstance(value, list):
        return [
            {"name": item.get("name"), "properties": {k: v for k, v in item.items() if k != "name"}}
            if isinstance(item, dict)
            else item
            for item in value
        ]
    return value


def _identity(identity: Any) -> Any:
    """azure-native lists user-assigned identities; ARM maps each id to an (empty) object."""
    if isinstance(identity, dict) and isinstance(identity.get("userAssignedIdentities"), list):
        assigned = {i: {} for i in identity["userAssignedIdentities"]}
        return {**identity, "userAssignedIdentities": assigned}
    return identity


def arm_resource(resource: dict[str, Any]) -> dict[str, Any] | None:
    """The ARM form of one rendered resource; None for anything that is not azure-native."""
    mapped = ARM_TYPES.get(resource["type"])
    if mapped is None:
        return None
    arm_type, name_key = mapped
    inputs = dict(resource.get("inputs") or {})
    body: dict[str, Any] = {
        "type": arm_type,
        "apiVersion": API_VERSION,
        "name": str(inputs.get(name_key) or resource["name"]) if name_key else resource["name"],
    }
    properties = dict(inputs.pop("properties", None) or {})
    renames = RENAMES.get(resource["type"], {})
    for key, value in inputs.items():
        key = renames.get(key, key)
        if key in ENVELOPE:
            body[key] = _identity(value) if key == "identity" else value
        elif key not in URL_PARAMETERS:
            properties[key] = _nested(key, value)
    body["properties"] = properties
    return body


def template(resources: list[dict[str, Any]]) -> dict[str, Any]:
    """An ARM deployment template of every azure-native resource of a render."""
    arm = [r for r in (arm_resource(res) for res in resources if res.get("custom")) if r]
    return {"$schema": SCHEMA, "contentVersion": "1.0.0.0", "resources": arm}


def main(argv: list[str]) -> int:
    root = Path(__file__).resolve().parents[1]
    sys.path.insert(0, str(root))
    from components.spec import read_stack
    from components.spec.loader import PROJECT
    from pipeline.render import render_stages
    from pipeline.stages import load_stages

    if not argv:
        print("usage: checkov_arm.py DIR [STACK ...]", file=sys.stderr)
        return 2
    out, stacks = Path(argv[0]), argv[1:]
    if not stacks:
        files = (root / "stacks").glob("Pulumi.*.yaml")
        names = (p.name[len("Pulumi.") : -len(".yaml")] for p in files)
        cloud = f"{PROJECT}:cloud"
        stacks = sorted(
            s for s in names if read_stack(root / "stacks", s).values.get(cloud) == "azure"
        )
    loaded = load_stages(root / "stacks", stacks)
    out.mkdir(parents=True, exist_ok=True)
    for stack, render in render_stages(root, loaded.configs.values()).items():
        if render.error:
            print(f"{stack}: {render.error}", file=sys.stderr)
            return 2
        target = out / f"{stack}.json"
        target.write_text(json.dumps(template(render.resources), indent=1))
        print(target)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
