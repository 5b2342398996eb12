"""Database role on AWS: RDS PostgreSQL, private, KMS-encrypted, TLS forced, with a master
password that RDS manages in Secrets Manager (it never appears in config or state)."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from components import project
from components.aws.context import AwsContext, assume_role_policy, child
from components.roles import role_token

# The smallest Graviton burstable class RDS for PostgreSQL offers (RDS docs, DB instance classes).
DEFAULT_INSTANCE_CLASS = "db.t4g.micro"


class Database(pulumi.ComponentResource):
    endpoint: pulumi.Output[str]
    engine_version: pulumi.Output[str]
    master_secret_arn: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        ctx: AwsContext,
        *,
        subnet_ids: list[pulumi.Output[str]],
        security_group_id: pulumi.Input[str],
        key_arn: pulumi.Input[str],
        parent: pulumi.Resource,
    ) -> None:
        super().__init__(role_token("aws", "Database"), name, None, child(parent))
        shape, scale = ctx.spec.shape.database, ctx.spec.scale.database
        major = str(shape.major_version)
        subnets = aws.rds.SubnetGroup(
            f"{name}-subnets",
            subnet_ids=subnet_ids,
            tags=ctx.tagged(f"{name}-subnets"),
            opts=child(self),
        )
        params = aws.rds.ParameterGroup(
            f"{name}-params",
            family=f"postgres{major}",
            description=f"{project.name()} {ctx.spec.identity.stage}: TLS only, connection logging",
            parameters=[
                aws.rds.ParameterGroupParameterArgs(name="rds.force_ssl", value="1"),
                aws.rds.ParameterGroupParameterArgs(name="log_connections", value="1"),
            ],
            tags=ctx.tagged(f"{name}-params"),
            opts=child(self),
        )
        # Enhanced monitoring (OS metrics every 60 s, Checkov CKV_AWS_118): RDS publishes them
        # to CloudWatch Logs through this role and AWS's managed policy for it.
        monitoring = aws.iam.Role(
            f"{name}-monitoring-role",
            assume_role_policy=assume_role_policy("monitoring.rds.amazonaws.com"),
            tags=ctx.tagged(f"{name}-monitoring-role"),
            opts=child(self),
        )
        attached = aws.iam.RolePolicyAttachment(
            f"{name}-monitoring-policy",
            role=monitoring.name,
            policy_arn=ctx.partition.apply(
                lambda p: f"arn:{p}:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
            ),
            opts=child(self),
        )
        instance = aws.rds.Instance(
            f"{name}-postgres",
            engine=shape.engine,
            engine_version=major,
            instance_class=scale.instance_class or DEFAULT_INSTANCE_CLASS,
            allocated_storage=scale.storage_gb,
            max_allocated_storage=scale.storage_gb * 2,
            storage_type="gp3",
            storage_encrypted=True,
            kms_key_id=key_arn,
            db_name=shape.name,
            port=shape.port,
            username=project.database_user(),
            manage_master_user_password=True,
            master_user_secret_kms_key_id=key_arn,
            iam_database_authentication_enabled=True,
            db_subnet_group_name=subnets.name,
            vpc_security_group_ids=[security_group_id],
            parameter_group_name=params.name,
            publicly_accessible=False,
            multi_az=scale.multi_az,
            backup_retention_period=scale.backup_retention_days,
            deletion_protection=scale.deletion_protection,
            skip_final_snapshot=not scale.deletion_protection,
            final_snapshot_identifier=project.physical(ctx.spec.identity.stack, "final"),
            copy_tags_to_snapshot=True,
            auto_minor_version_upgrade=True,
            performance_insights_enabled=True,
            performance_insights_kms_key_id=key_arn,
            enabled_cloudwatch_logs_exports=["postgresql", "upgrade"],
            monitoring_interval=60,
            monitoring_role_arn=monitoring.arn,
            apply_immediately=False,
            tags=ctx.tagged(f"{name}-postgres"),
            # Where the stage protects its data, Pulumi refuses to delete the database (protect;
            # policy checks it) and `pulumi destroy` leaves it in place (retainOnDelete).
            opts=child(
                self,
                retain_on_delete=scale.deletion_protection,
                protect=scale.deletion_protection,
                # RDS checks the role can publish before it accepts monitoringRoleArn.
                depends_on=[attached],
            ),
        )
        self.endpoint = instance.endpoint
        self.engine_version = instance.engine_version
        self.master_secret_arn = instance.master_user_secrets.apply(
            lambda secrets: (secrets[0].secret_arn or "") if secrets else ""
        )
        self.register_outputs({"endpoint": self.endpoint, "engineVersion": self.engine_version})
