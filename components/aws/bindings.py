"""Scale and identity bindings of the AWS blueprint (see components/bindings.py)."""

from components.bindings import IDENTITY_TAGS, Binding

RDS = "aws:rds/instance:Instance"
TASK = "aws:ecs/taskDefinition:TaskDefinition"

BINDINGS: tuple[Binding, ...] = (
    *IDENTITY_TAGS,
    Binding("aws:ec2/vpc:Vpc", "cidrBlock", "identity:cidr"),
    Binding("aws:ec2/subnet:Subnet", "cidrBlock", "identity:cidr"),
    Binding(RDS, "instanceClass", "scale:database.instanceClass"),
    Binding(RDS, "allocatedStorage", "scale:database.storageGb"),
    Binding(RDS, "maxAllocatedStorage", "scale:database.storageGb"),
    Binding(RDS, "backupRetentionPeriod", "scale:database.backupRetentionDays"),
    Binding(RDS, "multiAz", "scale:database.multiAz"),
    Binding(RDS, "deletionProtection", "scale:database.deletionProtection"),
    Binding(RDS, "skipFinalSnapshot", "scale:database.deletionProtection"),
    Binding(RDS, "options.retainOnDelete", "scale:database.deletionProtection"),
    Binding(RDS, "options.protect", "scale:database.deletionProtection"),
    Binding(TASK, "cpu", "scale:services.*.cpu"),
    Binding(TASK, "memory", "scale:services.*.memory"),
    Binding(TASK, "containerDefinitions[*].cpu", "scale:services.*.cpu"),
    Binding(TASK, "containerDefinitions[*].memory", "scale:services.*.memory"),
    Binding("aws:ecs/service:Service", "desiredCount", "scale:services.*.minReplicas"),
    Binding("aws:appautoscaling/target:Target", "minCapacity", "scale:services.*.minReplicas"),
    Binding("aws:appautoscaling/target:Target", "maxCapacity", "scale:services.*.maxReplicas"),
    Binding("aws:cloudwatch/logGroup:LogGroup", "retentionInDays", "scale:logRetentionDays"),
    Binding(
        "aws:s3/bucketLifecycleConfiguration:*",
        "rules[*].expiration.days",
        "scale:logRetentionDays",
    ),
    Binding(
        "aws:lb/loadBalancer:LoadBalancer",
        "enableDeletionProtection",
        "scale:loadBalancerDeletionProtection",
    ),
    Binding("aws:ecr/repository:Repository", "forceDelete", "scale:registryForceDelete"),
    Binding("aws:ec2/route:Route", "natGatewayId", "scale:natGateways"),
    Binding("aws:ec2/natGateway:NatGateway", "exists", "scale:natGateways"),
    Binding("aws:ec2/eip:Eip", "exists", "scale:natGateways"),
)
