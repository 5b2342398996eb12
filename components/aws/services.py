"""Services role on AWS: ECS Fargate services in private subnets behind one HTTPS load balancer.

Each public service answers at ``https://{service}.{domain}`` only: no plain-HTTP listener. A
service with ``public: false`` gets no target group, listener rule or DNS record: it runs in
the private subnets, reachable from the tasks' security group only.

The certificate is validated by DNS. With ``hostedZoneId`` the stage writes the validation
record and one alias record per public service into that Route 53 zone; without it, the
validation records and the load balancer's DNS name are stack outputs and the first ``up`` is
done in two steps (README, "With the real Pulumi CLI"). The HTTPS listener waits for the
validation, and each ECS service for its listener rule (a target group must belong to a load
balancer before a service can register with it).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components import project
from components.aws.context import AwsContext, assume_role_policy, child, policy_json
from components.roles import role_token
from components.spec.model import DataRole, digest_of, listener_priority

# tls.minVersion -> the load balancer's security policy: TLS 1.3 with 1.2 as the floor, or
# TLS 1.3 only (AWS ELB docs, "Security policies for your Application Load Balancer").
TLS_POLICIES = {
    "1.2": "ELBSecurityPolicy-TLS13-1-2-2021-06",
    "1.3": "ELBSecurityPolicy-TLS13-1-3-2021-06",
}


@dataclass(frozen=True)
class ServicesInputs:
    """What the services role needs from the other roles."""

    vpc_id: pulumi.Output[str]
    public_subnet_ids: list[pulumi.Output[str]]
    private_subnet_ids: list[pulumi.Output[str]]
    lb_security_group_id: pulumi.Output[str]
    tasks_security_group_id: pulumi.Output[str]
    repository_urls: dict[str, pulumi.Output[str]]
    repository_arns: dict[str, pulumi.Output[str]]
    log_groups: dict[str, pulumi.Output[str]]
    access_log_bucket: pulumi.Output[str]
    key_arn: pulumi.Output[str]
    database_secret_arn: pulumi.Output[str]
    database_endpoint: pulumi.Output[str]
    app_secret_arns: dict[str, pulumi.Output[str]]
    bucket_name: pulumi.Output[str]
    bucket_arn: pulumi.Output[str]


class Services(pulumi.ComponentResource):
    url: pulumi.Output[str]
    service_urls: dict[str, pulumi.Output[str]]
    load_balancer_dns_name: pulumi.Output[str]
    certificate_validation_records: pulumi.Output[list[dict[str, str]]]
    dns_records: pulumi.Output[list[dict[str, str]]]
    """The records to publish by hand: empty when the stage has a hosted zone."""

    def __init__(
        self, name: str, ctx: AwsContext, inputs: ServicesInputs, parent: pulumi.Resource
    ) -> None:
        super().__init__(role_token("aws", "Services"), name, None, child(parent))
        spec = ctx.spec
        self.cluster = aws.ecs.Cluster(
            f"{name}-cluster",
            settings=[aws.ecs.ClusterSettingArgs(name="containerInsights", value="enabled")],
            tags=ctx.tagged(f"{name}-cluster"),
            opts=child(self),
        )
        execution_role = self._execution_role(name, ctx, inputs)
        https = self._load_balancer(name, ctx, inputs)

        self.service_urls = {}
        for service in sorted(spec.shape.services):
            route = None
            if spec.shape.services[service].public:
                route = self._route(name, service, ctx, inputs, https)
            task_role = self._task_role(name, service, ctx, inputs)
            self._service(name, service, ctx, inputs, execution_role.arn, task_role.arn, route)
        self.url = self.service_urls[sorted(self.service_urls)[0]]
        hosts = [f"{s}.{spec.identity.domain}" for s in sorted(self.service_urls)]
        self.dns_records = (
            pulumi.Output.from_input([])
            if spec.identity.hosted_zone_id
            else pulumi.Output.all(
                self.certificate_validation_records, self.load_balancer_dns_name
            ).apply(
                lambda a: [
                    *a[0],
                    *({"name": h, "type": "CNAME", "value": a[1]} for h in hosts),
                ]
            )
        )
        self.register_outputs(
            {
                "url": self.url,
                "serviceUrls": self.service_urls,
                "loadBalancerDnsName": self.load_balancer_dns_name,
                "dnsRecords": self.dns_records,
            }
        )

    def _route(
        self,
        name: str,
        service: str,
        ctx: AwsContext,
        inputs: ServicesInputs,
        https: aws.lb.Listener,
    ) -> tuple[aws.lb.TargetGroup, aws.lb.ListenerRule]:
        """The public path to a service: target group, host-header rule, DNS record, URL."""
        spec = ctx.spec
        shape = spec.shape.services[service]
        prefix = f"{name}-{service}"
        host = f"{service}.{spec.identity.domain}"
        target_group = aws.lb.TargetGroup(
            f"{prefix}-tg",
            target_type="ip",
            port=shape.port,
            protocol="HTTP",
            vpc_id=inputs.vpc_id,
            deregistration_delay=30,
            health_check=aws.lb.TargetGroupHealthCheckArgs(
                path=shape.health_path, matcher="200", interval=15, healthy_threshold=2
            ),
            tags=ctx.tagged(f"{prefix}-tg"),
            opts=child(self),
        )
        rule = aws.lb.ListenerRule(
            f"{prefix}-route",
            listener_arn=https.arn,
            # From the name alone, so adding or removing a service moves no other rule.
            priority=listener_priority(service),
            conditions=[
                aws.lb.ListenerRuleConditionArgs(
                    host_header=aws.lb.ListenerRuleConditionHostHeaderArgs(values=[host])
                )
            ],
            actions=[
                aws.lb.ListenerRuleActionArgs(type="forward", target_group_arn=target_group.arn)
            ],
            tags=ctx.tagged(f"{prefix}-route"),
            opts=child(self),
        )
        if spec.identity.hosted_zone_id:
            aws.route53.Record(
                f"{prefix}-dns",
                zone_id=spec.identity.hosted_zone_id,
                name=host,
                type="A",
                aliases=[
                    aws.route53.RecordAliasArgs(
                        name=self.load_balancer.dns_name,
                        zone_id=self.load_balancer.zone_id,
                        evaluate_target_health=True,
                    )
                ],
                opts=child(self),
            )
        self.service_urls[service] = pulumi.Output.from_input(f"https://{host}")
        return target_group, rule

    def _task_role(
        self, name: str, service: str, ctx: AwsContext, inputs: ServicesInputs
    ) -> aws.iam.Role:
        """One role per service, granted only the data roles the service uses: the bucket's
        objects (and the data key that encrypts them, SSE-KMS) when it uses storage. The
        database needs no grant here: its credentials come from the execution role's secret."""
        prefix = f"{name}-{service}"
        role = aws.iam.Role(
            f"{prefix}-task-role",
            assume_role_policy=assume_role_policy("ecs-tasks.amazonaws.com"),
            tags=ctx.tagged(f"{prefix}-task-role"),
            opts=child(self),
        )
        if DataRole.STORAGE in ctx.spec.shape.services[service].uses:
            aws.iam.RolePolicy(
                f"{prefix}-storage",
                role=role.id,
                policy=pulumi.Output.all(inputs.bucket_arn, inputs.key_arn).apply(
                    lambda a: policy_json(
                        [
                            {
                                "Effect": "Allow",
                                "Action": ["s3:ListBucket"],
                                "Resource": a[0],
                            },
                            {
                                "Effect": "Allow",
                                "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                                "Resource": f"{a[0]}/*",
                            },
                            {
                                "Effect": "Allow",
                                "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                                "Resource": a[1],
                            },
                        ]
                    )
                ),
                opts=child(self),
            )
        return role

    def _execution_role(self, name: str, ctx: AwsContext, inputs: ServicesInputs) -> aws.iam.Role:
        """Lets ECS pull the stage's images, write logs and read the secrets it injects."""
        role = aws.iam.Role(
            f"{name}-execution-role",
            assume_role_policy=assume_role_policy("ecs-tasks.amazonaws.com"),
            tags=ctx.tagged(f"{name}-execution-role"),
            opts=child(self),
        )
        aws.iam.RolePolicyAttachment(
            f"{name}-execution-managed",
            role=role.name,
            policy_arn=ctx.partition.apply(
                lambda p: f"arn:{p}:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
            ),
            opts=child(self),
        )
        secret_arns = [inputs.database_secret_arn, *inputs.app_secret_arns.values()]
        aws.iam.RolePolicy(
            f"{name}-execution-secrets",
            role=role.id,
            policy=pulumi.Output.all(inputs.key_arn, *secret_arns).apply(
                lambda a: policy_json(
                    [
                        {
                            "Effect": "Allow",
                            "Action": "secretsmanager:GetSecretValue",
                            "Resource": list(a[1:]),  # fixed order: database, then app secrets
                        },
                        {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": a[0]},
                    ]
                )
            ),
            opts=child(self),
        )
        return role

    def _load_balancer(self, name: str, ctx: AwsContext, inputs: ServicesInputs) -> aws.lb.Listener:
        spec = ctx.spec
        certificate = aws.acm.Certificate(
            f"{name}-certificate",
            domain_name=spec.identity.domain,
            subject_alternative_names=[f"*.{spec.identity.domain}"],
            validation_method="DNS",
            tags=ctx.tagged(f"{name}-certificate"),
            opts=child(self),
        )
        self.certificate_validation_records = certificate.domain_validation_options.apply(
            _validation_records
        )
        fqdns: list[pulumi.Output[str]] = []
        if spec.identity.hosted_zone_id:
            # ACM asks for the same CNAME for a domain and its wildcard, so one record
            # validates both names of the certificate.
            option = certificate.domain_validation_options[0]
            record = aws.route53.Record(
                f"{name}-certificate-validation",
                zone_id=spec.identity.hosted_zone_id,
                name=option.resource_record_name,
                type=option.resource_record_type,
                records=[option.resource_record_value],
                ttl=300,
                allow_overwrite=True,
                opts=child(self),
            )
            fqdns = [record.fqdn]
        # Waits until ACM has issued the certificate (for records made by hand, too).
        validation = aws.acm.CertificateValidation(
            f"{name}-certificate-validation",
            certificate_arn=certificate.arn,
            validation_record_fqdns=fqdns or None,
            opts=child(self),
        )
        self.load_balancer = aws.lb.LoadBalancer(
            f"{name}-alb",
            load_balancer_type="application",
            internal=False,
            subnets=inputs.public_subnet_ids,
            security_groups=[inputs.lb_security_group_id],
            drop_invalid_header_fields=True,
            enable_deletion_protection=spec.scale.load_balancer_deletion_protection,
            access_logs=aws.lb.LoadBalancerAccessLogsArgs(
                bucket=inputs.access_log_bucket,
                enabled=spec.shape.logging.access_logs,
                prefix="alb",
            ),
            tags=ctx.tagged(f"{name}-alb"),
            opts=child(self),
        )
        self.load_balancer_dns_name = self.load_balancer.dns_name
        return aws.lb.Listener(
            f"{name}-https",
            load_balancer_arn=self.load_balancer.arn,
            port=443,
            protocol="HTTPS",
            ssl_policy=TLS_POLICIES[spec.shape.tls.min_version],
            certificate_arn=validation.certificate_arn,
            default_actions=[
                aws.lb.ListenerDefaultActionArgs(
                    type="fixed-response",
                    fixed_response=aws.lb.ListenerDefaultActionFixedResponseArgs(
                        content_type="text/plain", message_body="not found", status_code="404"
                    ),
                )
            ],
            tags=ctx.tagged(f"{name}-https"),
            # An HTTPS listener cannot use a certificate ACM has not issued yet.
            opts=child(self, depends_on=[validation]),
        )

    def _service(
        self,
        name: str,
        service: str,
        ctx: AwsContext,
        inputs: ServicesInputs,
        execution_role_arn: pulumi.Output[str],
        task_role_arn: pulumi.Output[str],
        route: tuple[aws.lb.TargetGroup, aws.lb.ListenerRule] | None,
    ) -> None:
        spec = ctx.spec
        shape, scale = spec.shape.services[service], spec.scale.service(service)
        prefix = f"{name}-{service}"
        # The image runs from the stage's own registry, pinned by the release's digest.
        image = pulumi.Output.concat(
            inputs.repository_urls[service], "@", digest_of(spec.release.images[service])
        )
        secrets = {
            **(
                {"DATABASE_SECRET": inputs.database_secret_arn}
                if DataRole.DATABASE in shape.uses
                else {}
            ),
            **{f"APP_SECRET_{k.upper()}": arn for k, arn in sorted(inputs.app_secret_arns.items())},
        }
        definitions = pulumi.Output.all(
            image=image,
            log_group=inputs.log_groups[service],
            db=inputs.database_endpoint,
            bucket=inputs.bucket_name,
            secrets=secrets,
        ).apply(lambda a: self._container_definitions(service, ctx, a))
        task = aws.ecs.TaskDefinition(
            f"{prefix}-task",
            family=project.physical(spec.identity.stack, service),
            network_mode="awsvpc",
            requires_compatibilities=["FARGATE"],
            cpu=str(scale.cpu),
            memory=str(scale.memory),
            execution_role_arn=execution_role_arn,
            task_role_arn=task_role_arn,
            runtime_platform=aws.ecs.TaskDefinitionRuntimePlatformArgs(
                operating_system_family="LINUX", cpu_architecture=shape.cpu_architecture
            ),
            container_definitions=definitions,
            tags=ctx.tagged(f"{prefix}-task"),
            opts=child(self),
        )
        ecs_service = aws.ecs.Service(
            f"{prefix}-service",
            cluster=self.cluster.arn,
            task_definition=task.arn,
            launch_type="FARGATE",
            desired_count=scale.min_replicas,
            network_configuration=aws.ecs.ServiceNetworkConfigurationArgs(
                subnets=inputs.private_subnet_ids,
                security_groups=[inputs.tasks_security_group_id],
                assign_public_ip=False,
            ),
            load_balancers=[
                aws.ecs.ServiceLoadBalancerArgs(
                    target_group_arn=route[0].arn, container_name=service, container_port=shape.port
                )
            ]
            if route
            else None,
            deployment_circuit_breaker=aws.ecs.ServiceDeploymentCircuitBreakerArgs(
                enable=True, rollback=True
            ),
            propagate_tags="SERVICE",
            enable_ecs_managed_tags=True,
            # `up` returns once the tasks are running and healthy, not when ECS accepted them.
            wait_for_steady_state=True,
            tags=ctx.tagged(f"{prefix}-service"),
            # Autoscaling owns the running count after creation. The target group must be
            # attached to the load balancer (by its rule) before the service registers tasks.
            opts=child(
                self, ignore_changes=["desiredCount"], depends_on=[route[1]] if route else None
            ),
        )
        scaling = aws.appautoscaling.Target(
            f"{prefix}-scaling",
            service_namespace="ecs",
            scalable_dimension="ecs:service:DesiredCount",
            resource_id=pulumi.Output.concat("service/", self.cluster.name, "/", ecs_service.name),
            min_capacity=scale.min_replicas,
            max_capacity=scale.max_replicas,
            tags=ctx.tagged(f"{prefix}-scaling"),
            opts=child(self),
        )
        aws.appautoscaling.Policy(
            f"{prefix}-cpu",
            policy_type="TargetTrackingScaling",
            service_namespace=scaling.service_namespace,
            scalable_dimension=scaling.scalable_dimension,
            resource_id=scaling.resource_id,
            target_tracking_scaling_policy_configuration=(
                aws.appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationArgs(
                    target_value=60,
                    predefined_metric_specification=aws.appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationPredefinedMetricSpecificationArgs(
                        predefined_metric_type="ECSServiceAverageCPUUtilization"
                    ),
                )
            ),
            opts=child(self),
        )

    @staticmethod
    def _container_definitions(service: str, ctx: AwsContext, a: dict[str, Any]) -> str:
        spec = ctx.spec
        shape, scale = spec.shape.services[service], spec.scale.service(service)
        health = shape.health_command()
        return json.dumps(
            [
                {
                    "name": service,
                    "image": a["image"],
                    "essential": True,
                    "cpu": scale.cpu,
                    "memory": scale.memory,
                    "privileged": False,
                    "readonlyRootFilesystem": True,
                    "user": "10001",
                    "portMappings": [{"containerPort": shape.port, "protocol": "tcp"}],
                    "environment": [
                        {"name": "STAGELINE_STAGE", "value": spec.identity.stage},
                        {"name": "STAGELINE_RELEASE", "value": spec.release.id},
                        {"name": "STAGELINE_SERVICE", "value": service},
                        {"name": "PORT", "value": str(shape.port)},
                        {"name": "HEALTH_PATH", "value": shape.health_path},
                        *(
                            [{"name": "DATABASE_ENDPOINT", "value": a["db"]}]
                            if DataRole.DATABASE in shape.uses
                            else []
                        ),
                        *(
                            [{"name": "BUCKET_NAME", "value": a["bucket"]}]
                            if DataRole.STORAGE in shape.uses
                            else []
                        ),
                    ],
                    "secrets": [
                        {"name": k, "valueFrom": v} for k, v in sorted(a["secrets"].items())
                    ],
                    **(
                        {
                            "healthCheck": {
                                "command": health,
                                "interval": 15,
                                "retries": 3,
                                "timeout": 5,
                                "startPeriod": 30,
                            }
                        }
                        if health
                        else {}
                    ),
                    "logConfiguration": {
                        "logDriver": "awslogs",
                        "options": {
                            "awslogs-group": a["log_group"],
                            "awslogs-region": ctx.region,
                            "awslogs-stream-prefix": service,
                        },
                    },
                }
            ],
            sort_keys=True,
        )


def _field(option: Any, snake: str, camel: str) -> str:
    # Output types arrive as objects under the engine and as plain dicts under the mocks.
    if isinstance(option, dict) and camel in option:
        return str(option[camel])
    return str(getattr(option, snake, "") or "")


def _validation_records(options: Sequence[Any] | None) -> list[dict[str, str]]:
    """The DNS records ACM asks for, one per distinct record (domain and wildcard share one)."""
    records: dict[str, dict[str, str]] = {}
    for option in options or []:
        name = _field(option, "resource_record_name", "resourceRecordName")
        records.setdefault(
            name,
            {
                "name": name,
                "type": _field(option, "resource_record_type", "resourceRecordType"),
                "value": _field(option, "resource_record_value", "resourceRecordValue"),
            },
        )
    return [records[k] for k in sorted(records)]
