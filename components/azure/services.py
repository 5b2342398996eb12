"""Services role on Azure: a Container Apps environment injected into the VNet, and one container
app per service: image by digest from the stage's registry, HTTPS-only ingress, health probes on
the service's health path, replicas from scale, a user-assigned identity for pulls and secrets.

Each service answers at ``https://<app>.<environment default domain>``.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_azure_native as azure

from components.azure.context import AzureContext, child
from components.roles import role_token
from components.spec.model import DataRole, digest_of

PROFILE = "Consumption"
# Concurrent requests per replica before the HTTP rule adds one.
CONCURRENT_REQUESTS = "50"


@dataclass(frozen=True)
class ServicesInputs:
    """What the services role needs from the other roles."""

    apps_subnet_id: pulumi.Output[str]
    identity_id: pulumi.Output[str]
    identity_client_id: pulumi.Output[str]
    identity_name: pulumi.Output[str]
    registry_url: pulumi.Output[str]
    repository_urls: dict[str, pulumi.Output[str]]
    log_customer_id: pulumi.Output[str]
    log_shared_key: pulumi.Output[str]
    database_endpoint: pulumi.Output[str]
    app_secret_uris: dict[str, pulumi.Output[str]]
    bucket_name: pulumi.Output[str]
    grants: list[pulumi.Resource]
    """Role assignments the apps need before their first revision starts (pull, secrets)."""


def cpu_cores(units: int) -> float:
    """Fargate-style CPU units (1024 = one vCPU) as Container Apps cores."""
    return units / 1024


def memory_gi(mib: int) -> str:
    return f"{mib / 1024:g}Gi"


class Services(pulumi.ComponentResource):
    url: pulumi.Output[str]
    service_urls: dict[str, pulumi.Output[str]]

    def __init__(
        self, name: str, ctx: AzureContext, inputs: ServicesInputs, parent: pulumi.Resource
    ) -> None:
        super().__init__(role_token("azure", "Services"), name, None, child(parent))
        spec = ctx.spec
        self.environment = azure.app.ManagedEnvironment(
            f"{name}-environment",
            resource_group_name=ctx.resource_group_name,
            location=ctx.location,
            vnet_configuration=azure.app.VnetConfigurationArgs(
                infrastructure_subnet_id=inputs.apps_subnet_id, internal=False
            ),
            workload_profiles=[
                azure.app.WorkloadProfileArgs(name=PROFILE, workload_profile_type=PROFILE)
            ],
            zone_redundant=spec.shape.network.az_count > 1,
            app_logs_configuration=azure.app.AppLogsConfigurationArgs(
                destination="log-analytics",
                log_analytics_configuration=azure.app.LogAnalyticsConfigurationArgs(
                    customer_id=inputs.log_customer_id, shared_key=inputs.log_shared_key
                ),
            ),
            # Traffic between apps inside the environment is encrypted too.
            peer_traffic_configuration=azure.app.ManagedEnvironmentPeerTrafficConfigurationArgs(
                encryption=azure.app.ManagedEnvironmentEncryptionArgs(
                    enabled=spec.shape.encryption.in_transit
                )
            ),
            tags=ctx.tags,
            opts=child(self),
        )
        self.service_urls = {}
        for service in sorted(spec.shape.services):
            app = self._app(name, service, ctx, inputs)
            if not spec.shape.services[service].public:
                continue  # internal ingress: reachable inside the environment, not published
            self.service_urls[service] = app.configuration.apply(
                lambda c: f"https://{c.ingress.fqdn}" if c and c.ingress else ""
            )
        self.url = self.service_urls[sorted(self.service_urls)[0]]
        self.register_outputs({"url": self.url, "serviceUrls": self.service_urls})

    def _app(
        self, name: str, service: str, ctx: AzureContext, inputs: ServicesInputs
    ) -> azure.app.ContainerApp:
        spec = ctx.spec
        shape, scale = spec.shape.services[service], spec.scale.service(service)
        # The image runs from the stage's own registry, pinned by the release's digest.
        image = pulumi.Output.concat(
            inputs.repository_urls[service], "@", digest_of(spec.release.images[service])
        )
        secrets = {
            f"app-secret-{key.lower()}": uri for key, uri in sorted(inputs.app_secret_uris.items())
        }
        env = [
            azure.app.EnvironmentVarArgs(name=key, value=value)
            for key, value in (
                ("STAGELINE_STAGE", spec.identity.stage),
                ("STAGELINE_RELEASE", spec.release.id),
                ("STAGELINE_SERVICE", service),
                ("PORT", str(shape.port)),
                ("HEALTH_PATH", shape.health_path),
            )
        ]
        env.append(
            azure.app.EnvironmentVarArgs(name="AZURE_CLIENT_ID", value=inputs.identity_client_id)
        )
        if DataRole.DATABASE in shape.uses:
            env += [
                azure.app.EnvironmentVarArgs(
                    name="DATABASE_ENDPOINT", value=inputs.database_endpoint
                ),
                # Entra sign-in: the database user is the identity's name, the password a token.
                azure.app.EnvironmentVarArgs(name="DATABASE_USER", value=inputs.identity_name),
            ]
        if DataRole.STORAGE in shape.uses:
            env.append(azure.app.EnvironmentVarArgs(name="BUCKET_NAME", value=inputs.bucket_name))
        env += [
            azure.app.EnvironmentVarArgs(name=f"APP_SECRET_{key.upper()}", secret_ref=ref)
            for key, ref in zip(sorted(inputs.app_secret_uris), secrets, strict=True)
        ]

        def probe(kind: str, period: int) -> azure.app.ContainerAppProbeArgs:
            return azure.app.ContainerAppProbeArgs(
                type=kind,
                http_get=azure.app.ContainerAppProbeHttpGetArgs(
                    path=shape.health_path, port=shape.port, scheme="HTTP"
                ),
                period_seconds=period,
                timeout_seconds=5,
                failure_threshold=3,
            )

        return azure.app.ContainerApp(
            f"{name}-{service}",
            resource_group_name=ctx.resource_group_name,
            location=ctx.location,
            managed_environment_id=self.environment.id,
            workload_profile_name=PROFILE,
            identity=azure.app.ManagedServiceIdentityArgs(
                type="UserAssigned", user_assigned_identities=[inputs.identity_id]
            ),
            configuration=azure.app.ConfigurationArgs(
                active_revisions_mode="Single",
                ingress=azure.app.IngressArgs(
                    external=shape.public,
                    target_port=shape.port,
                    transport="http",
                    allow_insecure=False,
                    traffic=[azure.app.TrafficWeightArgs(latest_revision=True, weight=100)],
                ),
                # Pulls with the managed identity (AcrPull); the registry has no admin user.
                registries=[
                    azure.app.RegistryCredentialsArgs(
                        server=inputs.registry_url, identity=inputs.identity_id
                    )
                ],
                secrets=[
                    azure.app.SecretArgs(name=ref, key_vault_url=uri, identity=inputs.identity_id)
                    for ref, uri in secrets.items()
                ],
            ),
            template=azure.app.TemplateArgs(
                containers=[
                    azure.app.ContainerArgs(
                        name=service,
                        image=image,
                        resources=azure.app.ContainerResourcesArgs(
                            cpu=cpu_cores(scale.cpu), memory=memory_gi(scale.memory)
                        ),
                        env=env,
                        probes=[probe("Liveness", 15), probe("Readiness", 10)],
                    )
                ],
                scale=azure.app.ScaleArgs(
                    min_replicas=scale.min_replicas,
                    max_replicas=scale.max_replicas,
                    rules=[
                        azure.app.ScaleRuleArgs(
                            name="http-concurrency",
                            http=azure.app.HttpScaleRuleArgs(
                                metadata={"concurrentRequests": CONCURRENT_REQUESTS}
                            ),
                        )
                    ],
                ),
            ),
            tags=ctx.tags,
            opts=child(self, depends_on=inputs.grants),
        )
