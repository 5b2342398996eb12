"""Scale and identity bindings of the Azure blueprint (see components/bindings.py)."""

from components.bindings import IDENTITY_TAGS, Binding

SERVER = "azure-native:dbforpostgresql:Server"
APP = "azure-native:app:ContainerApp"

BINDINGS: tuple[Binding, ...] = (
    *IDENTITY_TAGS,
    Binding("azure-native:network:VirtualNetwork", "addressSpace.*", "identity:cidr"),
    Binding("azure-native:network:Subnet", "addressPrefix", "identity:cidr"),
    # NSG rules name the stage's own subnets as sources.
    Binding(
        "azure-native:network:NetworkSecurityGroup",
        "securityRules[*].sourceAddressPrefix",
        "identity:cidr",
    ),
    Binding(SERVER, "sku.name", "scale:database.instanceClass"),
    Binding(SERVER, "sku.tier", "scale:database.instanceClass"),
    Binding(SERVER, "storage.storageSizeGB", "scale:database.storageGb"),
    Binding(SERVER, "backup.backupRetentionDays", "scale:database.backupRetentionDays"),
    Binding(SERVER, "backup.geoRedundantBackup", "scale:database.deletionProtection"),
    Binding(SERVER, "highAvailability.mode", "scale:database.multiAz"),
    Binding(SERVER, "options.retainOnDelete", "scale:database.deletionProtection"),
    Binding(SERVER, "options.protect", "scale:database.deletionProtection"),
    Binding(
        "azure-native:keyvault:Vault",
        "properties.enablePurgeProtection",
        "scale:database.deletionProtection",
    ),
    Binding(
        "azure-native:operationalinsights:Workspace", "retentionInDays", "scale:logRetentionDays"
    ),
    Binding(APP, "template.containers[*].resources.cpu", "scale:services.*.cpu"),
    Binding(APP, "template.containers[*].resources.memory", "scale:services.*.memory"),
    Binding(APP, "template.scale.minReplicas", "scale:services.*.minReplicas"),
    Binding(APP, "template.scale.maxReplicas", "scale:services.*.maxReplicas"),
)
