"""The Environment component: one stage, built from the blueprint on the spec's substrate."""

from __future__ import annotations

import pulumi

from components import substrates
from components.roles import Roles, Substrate, role_token
from components.spec import StageSpec
from components.spec.model import digest_of


def substrate(cloud: str) -> Substrate:
    """The substrate's builder, from the registry (imported on use: an AWS stage never imports
    the Azure SDK)."""
    return substrates.get(cloud).builder()


class Environment(pulumi.ComponentResource):
    """A whole stage: network, keys, logs, registry, database, storage and services."""

    service_url: pulumi.Output[str]
    service_urls: dict[str, pulumi.Output[str]]
    registry_url: pulumi.Output[str]
    database_endpoint: pulumi.Output[str]
    bucket_name: pulumi.Output[str]

    def __init__(
        self, name: str, spec: StageSpec, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        cloud = spec.identity.cloud
        super().__init__(role_token(cloud, "Environment"), name, None, opts)
        self.spec = spec
        self.roles: Roles = substrate(cloud)(name, spec, self)
        self.service_url = self.roles.services.url
        self.service_urls = self.roles.services.service_urls
        self.registry_url = self.roles.registry.registry_url
        self.database_endpoint = self.roles.database.endpoint
        self.bucket_name = self.roles.storage.bucket_name
        self.register_outputs(self.outputs())

    def outputs(self) -> dict[str, object]:
        """The stack outputs every substrate exports; promotion and status read these."""
        identity = self.spec.identity
        return {
            "stage": identity.stage,
            "cloud": identity.cloud,
            "release": self.spec.release.id,
            "digests": {n: digest_of(i) for n, i in sorted(self.spec.release.images.items())},
            "serviceUrl": self.service_url,
            "serviceUrls": self.service_urls,
            "healthPaths": {n: s.health_path for n, s in sorted(self.spec.shape.services.items())},
            "registryUrl": self.registry_url,
            # Where promotion copies each service's image before a preview (by digest).
            "repositoryUrls": self.roles.registry.repository_urls,
            "databaseEndpoint": self.database_endpoint,
            "bucketName": self.bucket_name,
            # DNS records to publish by hand: an AWS stage without a hosted zone; else empty.
            "dnsRecords": getattr(self.roles.services, "dns_records", []),
            # The CA the stage's endpoints chain to when it is the stage's own (Docker: its
            # self-signed CA; verification trusts it alone); empty where a public CA signs.
            "caCertificate": getattr(self.roles.keys, "ca_cert_pem", ""),
        }
