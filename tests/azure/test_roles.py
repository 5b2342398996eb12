"""Every Azure role under Pulumi's mock runtime, with each Azure stack's real config file."""

from __future__ import annotations

import importlib
import inspect
import ipaddress
from typing import Any

import pytest

from components.spec import read_stack
from components.spec.model import digest_of
from pipeline.render import SECRET, StageRender
from tests.azure.conftest import AZURE_STACKS, TAGS, one
from tests.conftest import STACKS_DIR, by_type

APP = "azure-native:app:ContainerApp"
SERVER = "azure-native:dbforpostgresql:Server"
NSG = "azure-native:network:NetworkSecurityGroup"
ROLES = ("Network", "Keys", "Logs", "Registry", "Database", "Storage", "Services")


def spec_of(stack: str) -> Any:
    return read_stack(STACKS_DIR, stack).spec()


def sdk_class(type_token: str) -> Any:
    """The SDK class behind a type token: azure-native:app:ContainerApp -> app.ContainerApp."""
    _, module, name = type_token.split(":")
    return getattr(importlib.import_module(f"pulumi_azure_native.{module}"), name)


def test_components_use_the_azure_token_scheme_and_parents(
    stages: dict[str, StageRender],
) -> None:
    dev = stages["azure-dev"]
    components = {r["type"] for r in dev.resources if not r["custom"]}
    assert components == {"stageline:azure:Environment"} | {
        f"stageline:azure:{role}" for role in ROLES
    }
    urns = {r["urn"]: r for r in dev.resources}
    for resource in dev.resources:
        assert resource["name"].startswith("azure-dev-") or resource["name"] == "azure-dev", (
            resource["urn"]
        )
        if resource["type"] != "stageline:azure:Environment":
            assert resource["parent"] in urns, f"{resource['urn']} has no parent in the graph"


def test_resource_group_and_location_per_stage(stages: dict[str, StageRender]) -> None:
    for stack, render in stages.items():
        group = one(render, "azure-native:resources:ResourceGroup")
        assert group["inputs"]["location"] == "westeurope", group["urn"]
        for resource in render.resources:
            if resource["custom"] and "location" in resource["inputs"]:
                assert resource["inputs"]["location"] in ("westeurope", "global"), resource["urn"]
            group_name = resource["inputs"].get("resourceGroupName")
            if group_name is not None:
                assert group_name.startswith(f"{stack}-rg-"), resource["urn"]


def test_every_taggable_resource_carries_the_stage_tags(stages: dict[str, StageRender]) -> None:
    for stack, render in stages.items():
        expected = spec_of(stack).identity.resource_tags()
        taggable = 0
        for resource in render.resources:
            if not resource["custom"]:
                continue
            params = inspect.signature(sdk_class(resource["type"])._internal_init).parameters
            if "tags" not in params:
                continue
            taggable += 1
            tags = resource["inputs"].get("tags", {})
            assert set(tags) >= TAGS, f"{resource['urn']} lacks {TAGS - set(tags)}"
            assert {k: tags[k] for k in expected} == expected, resource["urn"]
        assert taggable >= 20, f"{stack}: only {taggable} taggable resources"


def test_network_subnets_and_delegations(stages: dict[str, StageRender]) -> None:
    for stack, render in stages.items():
        cidr = ipaddress.IPv4Network(spec_of(stack).identity.cidr)
        vnet = one(render, "azure-native:network:VirtualNetwork")
        assert vnet["inputs"]["addressSpace"]["addressPrefixes"] == [str(cidr)], vnet["urn"]
        subnets = {
            r["name"].removeprefix(f"{stack}-network-"): r
            for r in by_type(render, "azure-native:network:Subnet")
        }
        assert set(subnets) == {"apps-subnet", "database-subnet", "endpoints-subnet"}
        prefixes = [ipaddress.IPv4Network(s["inputs"]["addressPrefix"]) for s in subnets.values()]
        assert all(p.subnet_of(cidr) for p in prefixes), vnet["urn"]
        assert not any(a.overlaps(b) for i, a in enumerate(prefixes) for b in prefixes[i + 1 :])
        delegations = {
            name: [d["serviceName"] for d in s["inputs"].get("delegations", [])]
            for name, s in subnets.items()
        }
        assert delegations == {
            "apps-subnet": ["Microsoft.App/environments"],
            "database-subnet": ["Microsoft.DBforPostgreSQL/flexibleServers"],
            "endpoints-subnet": [],
        }, vnet["urn"]
        for subnet in subnets.values():
            assert "/networkSecurityGroups/" in subnet["inputs"]["networkSecurityGroup"]["id"], (
                subnet["urn"]
            )


def test_only_https_to_the_ingress_is_open_to_the_internet(
    stages: dict[str, StageRender],
) -> None:
    render = stages["azure-staging"]
    apps_prefix = one(render, "azure-native:network:Subnet", "apps-subnet")["inputs"][
        "addressPrefix"
    ]
    open_rules = []
    for nsg in by_type(render, NSG):
        rules = nsg["inputs"]["securityRules"]
        for rule in rules:
            assert rule["direction"] == "Inbound", nsg["urn"]
            if rule["access"] == "Allow" and rule["sourceAddressPrefix"] in ("Internet", "*"):
                open_rules.append((nsg["name"], rule["destinationPortRange"]))
        # Whatever is not allowed above it, the last rule denies from the internet.
        last = max(rules, key=lambda r: r["priority"])
        assert (last["access"], last["sourceAddressPrefix"]) == ("Deny", "Internet"), nsg["urn"]
    assert open_rules == [("azure-staging-network-apps-nsg", "443")]
    database = one(render, NSG, "database-nsg")["inputs"]["securityRules"]
    postgres = [r for r in database if r["destinationPortRange"] == "5432"]
    assert [(r["access"], r["sourceAddressPrefix"]) for r in postgres] == [
        ("Allow", apps_prefix)
    ], "only the apps subnet reaches the database"


def test_private_dns_zones_are_linked_to_the_vnet(stages: dict[str, StageRender]) -> None:
    render = stages["azure-dev"]
    zones = {
        z["inputs"]["privateZoneName"]
        for z in by_type(render, "azure-native:privatedns:PrivateZone")
    }
    assert zones == {
        "private.postgres.database.azure.com",
        "privatelink.azurecr.io",
        "privatelink.vaultcore.azure.net",
        "privatelink.blob.core.windows.net",
    }
    links = by_type(render, "azure-native:privatedns:VirtualNetworkLink")
    assert len(links) == 4
    for link in links:
        assert "/virtualNetworks/azure-dev-network-vnet-" in link["inputs"]["virtualNetwork"]["id"]
        assert link["inputs"]["registrationEnabled"] is False, link["urn"]


@pytest.mark.parametrize("stack", AZURE_STACKS)
def test_log_retention_follows_scale(stages: dict[str, StageRender], stack: str) -> None:
    workspace = one(stages[stack], "azure-native:operationalinsights:Workspace")
    assert workspace["inputs"]["retentionInDays"] == spec_of(stack).scale.log_retention_days, (
        workspace["urn"]
    )


def test_log_shared_key_is_secret(stages: dict[str, StageRender]) -> None:
    environment = one(stages["azure-dev"], "azure-native:app:ManagedEnvironment")
    # The shared key is secret at its leaf, as the real engine keeps it (the engine lane checks
    # the same resource); the rest of the logs block stays readable in the plan.
    logs = environment["inputs"]["appLogsConfiguration"]["logAnalyticsConfiguration"]
    assert logs["sharedKey"] == SECRET, environment["urn"]
    assert logs["customerId"] != SECRET, environment["urn"]


def test_container_apps_environment_is_in_the_vnet(stages: dict[str, StageRender]) -> None:
    environment = one(stages["azure-live"], "azure-native:app:ManagedEnvironment")
    vnet = environment["inputs"]["vnetConfiguration"]
    assert "/subnets/azure-live-network-apps-subnet-" in vnet["infrastructureSubnetId"]
    assert vnet["internal"] is False, environment["urn"]
    assert environment["inputs"]["zoneRedundant"] is True, environment["urn"]
    assert environment["inputs"]["peerTrafficConfiguration"]["encryption"]["enabled"] is True


@pytest.mark.parametrize("stack", AZURE_STACKS)
def test_container_apps_run_the_release_securely(
    stages: dict[str, StageRender], stack: str
) -> None:
    spec = spec_of(stack)
    render = stages[stack]
    login_server = render.outputs["registryUrl"]
    identity = one(render, "azure-native:managedidentity:UserAssignedIdentity")
    apps = {r["name"].removeprefix(f"{stack}-services-"): r for r in by_type(render, APP)}
    assert set(apps) == set(spec.shape.services)
    for service, app in apps.items():
        urn, inputs = app["urn"], app["inputs"]
        shape, scale = spec.shape.services[service], spec.scale.service(service)
        container = inputs["template"]["containers"][0]
        assert container["image"] == (
            f"{login_server}/{service}@{digest_of(spec.release.images[service])}"
        ), urn
        ingress = inputs["configuration"]["ingress"]
        assert ingress["allowInsecure"] is False, urn
        assert ingress["targetPort"] == shape.port, urn
        assert {p["type"]: p["httpGet"]["path"] for p in container["probes"]} == {
            "Liveness": shape.health_path,
            "Readiness": shape.health_path,
        }, urn
        assert inputs["template"]["scale"]["minReplicas"] == scale.min_replicas, urn
        assert inputs["template"]["scale"]["maxReplicas"] == scale.max_replicas, urn
        assert container["resources"]["cpu"] == scale.cpu / 1024, urn
        assert container["resources"]["memory"] == f"{scale.memory / 1024:g}Gi", urn
        assert inputs["identity"]["type"] == "UserAssigned", urn
        identities = inputs["identity"]["userAssignedIdentities"]
        assert len(identities) == 1, urn
        assert f"/userAssignedIdentities/{identity['name']}" in identities[0], urn
        registries = inputs["configuration"]["registries"]
        assert registries == [{"server": login_server, "identity": identities[0]}], (
            f"{urn} pulls with its identity, no username or password"
        )


def grants(render: StageRender, role_id: str) -> list[dict[str, Any]]:
    return [
        r
        for r in by_type(render, "azure-native:authorization:RoleAssignment")
        if r["inputs"]["roleDefinitionId"].endswith(f"/roleDefinitions/{role_id}")
    ]


def test_registry_is_private_and_pulled_with_the_identity(stages: dict[str, StageRender]) -> None:
    for stack, render in stages.items():
        registry = one(render, "azure-native:containerregistry:Registry")
        urn, inputs = registry["urn"], registry["inputs"]
        assert inputs["adminUserEnabled"] is False, urn
        assert inputs["anonymousPullEnabled"] is False, urn
        assert inputs["publicNetworkAccess"] == "Disabled", urn
        assert inputs["sku"]["name"] == "Premium", urn
        assert render.outputs["registryUrl"] == f"{inputs['registryName']}.azurecr.io", stack
        (pull,) = grants(render, "7f951dda-4ed3-4680-a7ca-43fe172d538d")  # AcrPull
        assert pull["inputs"]["scope"].endswith(f"/registries/{inputs['registryName']}"), urn
        assert pull["inputs"]["principalType"] == "ServicePrincipal", pull["urn"]
        endpoint = one(render, "azure-native:network:PrivateEndpoint", "registry-endpoint")
        connection = endpoint["inputs"]["privateLinkServiceConnections"][0]
        assert connection["groupIds"] == ["registry"], endpoint["urn"]
        assert (
            "/subnets/" + f"{stack}-network-endpoints-subnet" in endpoint["inputs"]["subnet"]["id"]
        )


def test_global_names_are_valid_and_unique_per_stage(stages: dict[str, StageRender]) -> None:
    keys = {
        "azure-native:containerregistry:Registry": "registryName",
        "azure-native:storage:StorageAccount": "accountName",
        "azure-native:keyvault:Vault": "vaultName",
    }
    for type_token, key in keys.items():
        names = [one(render, type_token)["inputs"][key] for render in stages.values()]
        assert len(set(names)) == len(names), f"{type_token}: {names}"
        for name in names:
            assert name.isalnum() and name.islower() and 3 <= len(name) <= 24, name


@pytest.mark.parametrize("stack", AZURE_STACKS)
def test_database_is_private_entra_only_and_scaled(
    stages: dict[str, StageRender], stack: str
) -> None:
    spec = spec_of(stack)
    render, scale = stages[stack], spec.scale.database
    server = one(render, SERVER)
    urn, inputs = server["urn"], server["inputs"]
    assert inputs["version"] == str(spec.shape.database.major_version), urn
    assert inputs["network"]["publicNetworkAccess"] == "Disabled", urn
    assert (
        "/subnets/" + f"{stack}-network-database-subnet"
        in inputs["network"]["delegatedSubnetResourceId"]
    ), urn
    assert inputs["network"]["privateDnsZoneArmResourceId"].endswith(
        "/privateDnsZones/private.postgres.database.azure.com"
    ), urn
    assert inputs["authConfig"]["passwordAuth"] == "Disabled", urn
    assert inputs["authConfig"]["activeDirectoryAuth"] == "Enabled", urn
    assert "administratorLoginPassword" not in inputs, urn
    assert "administratorLogin" not in inputs, urn
    assert inputs["sku"]["name"] == scale.instance_class, urn
    assert inputs["storage"]["storageSizeGB"] == scale.storage_gb, urn
    assert inputs["backup"]["backupRetentionDays"] == scale.backup_retention_days, urn
    geo = "Enabled" if scale.deletion_protection else "Disabled"
    assert inputs["backup"]["geoRedundantBackup"] == geo, urn
    ha = "ZoneRedundant" if scale.multi_az else "Disabled"
    assert inputs["highAvailability"]["mode"] == ha, urn
    assert server["options"]["retainOnDelete"] is scale.deletion_protection, urn
    settings = {
        c["inputs"]["configurationName"]: c["inputs"]["value"]
        for c in by_type(render, "azure-native:dbforpostgresql:Configuration")
    }
    assert settings["require_secure_transport"] == "on", urn
    assert settings["ssl_min_protocol_version"] == "TLSv1.2", urn
    admin = one(render, "azure-native:dbforpostgresql:AdministratorsMicrosoftEntra")
    assert admin["inputs"]["principalType"] == "ServicePrincipal", admin["urn"]
    assert render.outputs["databaseEndpoint"].endswith(".postgres.database.azure.com:5432")


def test_only_live_is_zone_redundant_with_geo_backups(stages: dict[str, StageRender]) -> None:
    modes = {
        stack: (
            one(render, SERVER)["inputs"]["highAvailability"]["mode"],
            one(render, SERVER)["inputs"]["backup"]["geoRedundantBackup"],
        )
        for stack, render in stages.items()
    }
    assert modes == {
        "azure-dev": ("Disabled", "Disabled"),
        "azure-test": ("Disabled", "Disabled"),
        "azure-staging": ("ZoneRedundant", "Disabled"),
        "azure-live": ("ZoneRedundant", "Enabled"),
    }


def test_storage_is_private_https_and_recoverable(stages: dict[str, StageRender]) -> None:
    render = stages["azure-test"]
    account = one(render, "azure-native:storage:StorageAccount")
    urn, inputs = account["urn"], account["inputs"]
    assert inputs["allowBlobPublicAccess"] is False, urn
    assert inputs["enableHttpsTrafficOnly"] is True, urn
    assert inputs["minimumTlsVersion"] == "TLS1_2", urn
    assert inputs["allowSharedKeyAccess"] is False, urn
    assert inputs["publicNetworkAccess"] == "Disabled", urn
    assert inputs["networkRuleSet"]["defaultAction"] == "Deny", urn
    assert inputs["encryption"]["requireInfrastructureEncryption"] is True, urn
    blob = one(render, "azure-native:storage:BlobServiceProperties")
    assert blob["inputs"]["isVersioningEnabled"] is True, blob["urn"]
    assert blob["inputs"]["deleteRetentionPolicy"]["enabled"] is True, blob["urn"]
    assert blob["inputs"]["containerDeleteRetentionPolicy"]["enabled"] is True, blob["urn"]
    container = one(render, "azure-native:storage:BlobContainer")
    assert container["inputs"]["publicAccess"] == "None", container["urn"]
    (writer,) = grants(render, "ba92f5b4-2d11-453d-a403-e96b0029c9fe")
    assert writer["inputs"]["scope"].endswith(f"/storageAccounts/{inputs['accountName']}")
    assert render.outputs["bucketName"] == (
        f"https://{inputs['accountName']}.blob.core.windows.net/data"
    )


def test_key_vault_rbac_soft_delete_and_purge_protection_in_live(
    stages: dict[str, StageRender],
) -> None:
    purge = {}
    for stack, render in stages.items():
        vault = one(render, "azure-native:keyvault:Vault")
        props = vault["inputs"]["properties"]
        assert props["enableRbacAuthorization"] is True, vault["urn"]
        assert props["enableSoftDelete"] is True, vault["urn"]
        assert props["softDeleteRetentionInDays"] == 90, vault["urn"]
        assert props["publicNetworkAccess"] == "Disabled", vault["urn"]
        assert "accessPolicies" not in props, vault["urn"]
        purge[stack] = props.get("enablePurgeProtection")
        (reader,) = grants(render, "4633458b-17de-408a-b874-0445c86b69e6")
        assert reader["inputs"]["scope"].endswith(f"/vaults/{vault['inputs']['vaultName']}")
    # Azure refuses an explicit false: stages that do not protect their data leave it unset.
    assert purge == {
        "azure-dev": None,
        "azure-test": None,
        "azure-staging": None,
        "azure-live": True,
    }


def test_outputs_are_https_urls_and_the_release(stages: dict[str, StageRender]) -> None:
    for stack, render in stages.items():
        spec, outputs = spec_of(stack), render.outputs
        assert outputs["cloud"] == "azure" and outputs["stage"] == spec.identity.stage
        assert set(outputs["serviceUrls"]) == set(spec.shape.services), stack
        for url in outputs["serviceUrls"].values():
            assert url.startswith("https://") and url.endswith(".azurecontainerapps.io"), url
        assert outputs["serviceUrl"] == outputs["serviceUrls"]["api"], stack
        assert outputs["digests"] == {n: digest_of(i) for n, i in spec.release.images.items()}, (
            stack
        )
