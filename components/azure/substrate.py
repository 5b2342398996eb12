"""The Azure substrate's registration (components/substrates.py), and what Azure accepts of a
stage's scale, checked with the rest of the spec before anything is declared (the keys are
shared with the other substrates; their ranges are not). No SDK import here."""

from __future__ import annotations

from typing import TYPE_CHECKING

from components.substrates import SubstrateInfo

if TYPE_CHECKING:
    from components.spec.model import StageSpec

# The smallest burstable flexible-server SKU (Azure docs, "Compute options in Azure Database
# for PostgreSQL flexible server").
DEFAULT_SKU = "Standard_B1ms"
# PostgreSQL flexible server: provisioned storage sizes (GiB) and backup retention (days).
POSTGRES_STORAGE_GB = (32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768)
POSTGRES_BACKUP_DAYS = range(7, 36)
# Log Analytics: interactive retention (days) of a PerGB2018 workspace.
LOG_ANALYTICS_DAYS = range(30, 731)


def azure_problems(spec: StageSpec) -> list[tuple[str, str]]:
    """(model path, what was expected) for each scale value Azure would refuse."""
    scale, found = spec.scale, []
    db = scale.database
    sku = db.instance_class or DEFAULT_SKU
    if not sku.startswith("Standard_"):
        found.append(
            ("scale.database.instanceClass", "an Azure flexible-server SKU such as Standard_B1ms")
        )
    elif db.multi_az and sku.startswith("Standard_B"):
        found.append(
            (
                "scale.database.instanceClass",
                "a General Purpose or Memory Optimized SKU (Standard_D*, Standard_E*) when "
                "multiAz is true: burstable servers have no zone-redundant HA",
            )
        )
    if db.storage_gb not in POSTGRES_STORAGE_GB:
        sizes = ", ".join(map(str, POSTGRES_STORAGE_GB))
        found.append(("scale.database.storageGb", f"one of {sizes} on azure"))
    if db.backup_retention_days not in POSTGRES_BACKUP_DAYS:
        found.append(("scale.database.backupRetentionDays", "between 7 and 35 on azure"))
    if scale.log_retention_days not in LOG_ANALYTICS_DAYS:
        found.append(("scale.logRetentionDays", "between 30 and 730 on azure (Log Analytics)"))
    for name, shape in sorted(spec.shape.services.items()):
        if shape.cpu_architecture != "X86_64":
            found.append(
                (
                    f"shape.services.{name}.cpuArchitecture",
                    "X86_64 on azure: Container Apps run linux/amd64 images only",
                )
            )
    for name in sorted(spec.shape.services):
        service = scale.service(name)
        # Container Apps pair 0.5 GiB of memory with every 0.25 vCPU.
        if service.memory != 2 * service.cpu:
            found.append(
                (
                    f"scale.services.{name}.memory",
                    f"twice the cpu units ({2 * service.cpu}) on azure: Container Apps pair "
                    "0.5 GiB with each 0.25 vCPU",
                )
            )
    return found


SUBSTRATE = SubstrateInfo(
    name="azure",
    build="components.azure.assemble:build",
    bindings="components.azure.bindings:BINDINGS",
    mocks="components.azure.mocks",
    region_key="azure-native:location",
    namespaces=("azure-native",),
    checks=azure_problems,
    refuses={
        "logging.flowLogs": "VNet flow logs need a regional Network Watcher, not built here",
        "logging.accessLogs": "Container Apps ingress keeps no access log of its own; console"
        " and system logs go to the environment's Log Analytics workspace",
        "network.azCount": "Azure takes no zone count: the database's zone redundancy follows"
        " scale.database.multiAz",
        # Azure docs, Container Apps "Containers": only Linux x86-64 (linux/amd64) images.
        "services.*.cpuArchitecture": "Container Apps run linux/amd64 images only: X86_64",
    },
)
