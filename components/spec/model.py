"""The stage spec: one typed model of an environment, split into shape, scale and identity.

*Shape* is what every stage shares and may never differ; it is declared in ``blueprint.yaml``.
*Scale* is what may differ per stage (sizes, counts, retention, protection).
*Identity* is what names a stage (stage, cloud, region, CIDR, tags).

Field names are camelCase, as they appear in stack files and in the engine.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
)
from pydantic.alias_generators import to_camel

DIGEST_PATTERN = r"^[a-z0-9]+(?:[._\-/:][a-z0-9]+)*@sha256:[0-9a-f]{64}$"
"""An image reference pinned by digest: ``repo@sha256:<64 hex>`` (no tag)."""

ImageRef = Annotated[
    str,
    StringConstraints(pattern=DIGEST_PATTERN),
    Field(
        description="Image pinned by digest, e.g. registry/app@sha256:<64 hex>; tags are refused."
    ),
]
Name = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]{0,30}$")]
HealthPath = Annotated[str, StringConstraints(pattern=r"^/[A-Za-z0-9._~/-]*$")]
Port = Annotated[int, Field(ge=1, le=65535)]

# CloudWatch accepts only these retention periods (days); Log Analytics takes any of them too.
LOG_RETENTION_DAYS = (
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
)


def _cidr(value: str) -> str:
    try:
        net = ipaddress.IPv4Network(value, strict=True)
    except ValueError as exc:
        raise ValueError(f"expected an IPv4 network such as 10.10.0.0/16 ({exc})") from None
    if not 16 <= net.prefixlen <= 22:
        raise ValueError("expected a prefix length between /16 and /22")
    if not net.is_private:
        raise ValueError("expected a private (RFC 1918) range")
    return str(net)


Cidr = Annotated[str, AfterValidator(_cidr)]


def _registered(value: str) -> str:
    from components import substrates

    if value not in substrates.registry():
        raise ValueError(f"expected one of {', '.join(substrates.names())}")
    return value


def _retention(value: int) -> int:
    if value not in LOG_RETENTION_DAYS:
        raise ValueError(f"expected one of {', '.join(map(str, LOG_RETENTION_DAYS))}")
    return value


RetentionDays = Annotated[int, AfterValidator(_retention)]


class Model(BaseModel):
    """Base: camelCase keys, no unknown keys, immutable."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True
    )


# ---------------------------------------------------------------- shape


DEFAULT_HEALTH_COMMAND = (
    "CMD-SHELL",
    "wget -q -O /dev/null http://127.0.0.1:{port}{healthPath} || exit 1",
)
"""The container health check unless a service names its own: busybox ``wget``, which the
example app's image carries. ``{port}`` and ``{healthPath}`` are filled in from the service."""


class DataRole(StrEnum):
    """A data role a service may use: it gets that role's endpoint, credentials and grants."""

    DATABASE = "database"
    STORAGE = "storage"


class ServiceShape(Model):
    """A service as every stage runs it."""

    port: Port = Field(description="Container port the service listens on.")
    health_path: HealthPath = Field(description="HTTP path that answers 200 with the version.")
    public: bool = Field(default=True, description="Routed from the load balancer.")
    uses: tuple[DataRole, ...] = Field(
        default=(DataRole.DATABASE, DataRole.STORAGE),
        description="The data roles the service uses: only these give it an endpoint,"
        " credentials and access (least privilege).",
    )
    cpu_architecture: Literal["ARM64", "X86_64"] = Field(
        default="ARM64",
        description="CPU architecture the service's images are built for (ARM64: Graviton).",
    )
    health_check_command: tuple[str, ...] = Field(
        default=DEFAULT_HEALTH_COMMAND,
        max_length=16,
        description=(
            "Container health check, Docker's form (CMD-SHELL or CMD first; {port} and"
            " {healthPath} are filled in); empty for none (the load balancer still checks)."
        ),
    )

    def health_command(self) -> list[str]:
        """The health-check command with this service's port and health path filled in."""
        return [
            part.replace("{port}", str(self.port)).replace("{healthPath}", self.health_path)
            for part in self.health_check_command
        ]


class DatabaseShape(Model):
    """The database every stage runs: engine and major version never differ."""

    engine: Literal["postgres"]
    major_version: int = Field(ge=13, le=17, description="PostgreSQL major version.")
    port: Port = 5432
    name: Name = Field(default="app", description="Initial database name.")


class NetworkShape(Model):
    """Network layout rules applied to each stage's CIDR."""

    az_count: int = Field(default=2, ge=2, le=3, description="Availability zones to span.")
    subnet_bits: int = Field(
        default=4, ge=2, le=6, description="Bits added to the CIDR per subnet."
    )


class TlsShape(Model):
    min_version: Literal["1.2", "1.3"] = Field(
        default="1.2",
        description="Oldest TLS version any endpoint accepts; each substrate maps it to its"
        " own setting (a load balancer policy, a minimum protocol version).",
    )


class EncryptionShape(Model):
    at_rest: bool = Field(default=True, description="Customer-managed keys for data at rest.")
    in_transit: bool = Field(default=True, description="TLS required on every data path.")


class LoggingShape(Model):
    flow_logs: bool = True
    access_logs: bool = True


class Shape(Model):
    """What every stage shares, declared in the project's ``blueprint.yaml`` (services and the
    database have no defaults: they are the application's, not the blueprint's)."""

    services: dict[Name, ServiceShape] = Field(min_length=1)
    database: DatabaseShape
    network: NetworkShape = NetworkShape()
    tls: TlsShape = TlsShape()
    encryption: EncryptionShape = EncryptionShape()
    logging: LoggingShape = LoggingShape()


# ---------------------------------------------------------------- scale


class ServiceScale(Model):
    cpu: int = Field(
        default=256,
        ge=1,
        le=65536,
        description="CPU units (1024 = one vCPU); each substrate accepts its own sizes.",
    )
    memory: int = Field(default=512, ge=128, le=30720, description="Memory in MiB.")
    min_replicas: int = Field(default=1, ge=1, le=100)
    max_replicas: int = Field(default=2, ge=1, le=100)


class DatabaseScale(Model):
    instance_class: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9_.-]+$",
        description="The substrate's own size name for the database; default: the"
        " substrate's smallest.",
    )
    storage_gb: int = Field(default=20, ge=20, le=65536)
    backup_retention_days: int = Field(default=1, ge=1, le=35)
    multi_az: bool = False
    deletion_protection: bool = False


class Scale(Model):
    """What may differ per stage; which keys a stage may set is in the pipeline file."""

    services: dict[Name, ServiceScale] = Field(default_factory=dict)
    database: DatabaseScale = DatabaseScale()
    log_retention_days: RetentionDays = 30
    nat_gateways: Literal["single", "perAz"] = "single"
    load_balancer_deletion_protection: bool = False
    registry_force_delete: bool = Field(
        default=False,
        description="Let destroy delete repositories that still hold images (never in live).",
    )

    def service(self, name: str) -> ServiceScale:
        return self.services.get(name, ServiceScale())


# ---------------------------------------------------------------- identity


MAX_TAGS = 50
"""Tags per resource: AWS allows 50 user tags (Tagging AWS resources, "Tag naming limits and
requirements"), Azure 50 tag name/value pairs (Azure Resource Manager, "Use tags to organize
your Azure resources"). Keys up to 128 and values up to 256 characters fit both."""
TagKey = Annotated[str, StringConstraints(min_length=1, max_length=128)]
TagValue = Annotated[str, StringConstraints(max_length=256)]


class Tags(Model):
    owner: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    cost_center: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
    extra: dict[TagKey, TagValue] = Field(default_factory=dict)


class Identity(Model):
    stage: Name
    stack: str
    project: str = Field(min_length=1)
    cloud: Annotated[str, AfterValidator(_registered)] = Field(
        default="aws", description="Substrate the stage is built on (a registered one)."
    )
    region: str = Field(min_length=1)
    cidr: Cidr
    domain: Annotated[str, StringConstraints(pattern=r"^([a-z0-9-]+\.)+[a-z]{2,}$")] = Field(
        description="DNS name the stage's services answer under ({service}.{domain})."
    )
    hosted_zone_id: Annotated[str, StringConstraints(pattern=r"^Z[A-Z0-9]{1,32}$")] | None = Field(
        default=None,
        description="Route 53 hosted zone of the domain (AWS): certificate and service records.",
    )
    tags: Tags

    def resource_tags(self) -> dict[str, str]:
        """The tags every taggable resource carries."""
        return {
            **self.tags.extra,
            "stage": self.stage,
            "project": self.project,
            "owner": self.tags.owner,
            "cost-center": self.tags.cost_center,
            "managed-by": "pulumi",
        }


# ---------------------------------------------------------------- the whole stage


class Release(Model):
    """What runs: an id and an image (pinned by digest) per service."""

    id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._-]{1,64}$")] = "unreleased"
    images: dict[Name, ImageRef]


class StageSpec(Model):
    identity: Identity
    shape: Shape
    scale: Scale = Scale()
    release: Release
    secret_keys: tuple[str, ...] = Field(
        default=(), description="Services whose app secret is a secure: value in the stack file."
    )
    substrate_images: dict[Name, ImageRef] = Field(
        default_factory=dict,
        description="The substrate's own images (database, proxy, ...) pinned by digest, in place"
        " of its shipped defaults; only names the substrate registers.",
    )

    def problems(self) -> list[tuple[str, str]]:
        """Cross-field rules, as (model path, what was expected); empty when the spec holds."""
        found: list[tuple[str, str]] = []
        services = sorted(self.shape.services)
        for name in sorted(set(self.release.images) - set(services)):
            found.append((f"release.images.{name}", f"a service of the shape ({services})"))
        for name in sorted(set(self.scale.services) - set(services)):
            found.append((f"scale.services.{name}", f"a service of the shape ({services})"))
        for name in sorted(set(services) - set(self.release.images)):
            found.append((f"release.images.{name}", "an image pinned by digest for every service"))
        for name, scale in sorted(self.scale.services.items()):
            if scale.max_replicas < scale.min_replicas:
                found.append((f"scale.services.{name}.maxReplicas", "at least minReplicas"))
        tags = self.identity.resource_tags()
        if len(tags) > MAX_TAGS:
            blueprint = len(tags) - len(self.identity.tags.extra)
            found.append(
                (
                    "identity.tags.extra",
                    f"at most {MAX_TAGS - blueprint} extra tags (AWS and Azure allow {MAX_TAGS}"
                    f" per resource and the blueprint sets {blueprint}), got"
                    f" {len(self.identity.tags.extra)}",
                )
            )
        if self.identity.stage == "live":
            if not self.scale.database.deletion_protection:
                found.append(("scale.database.deletionProtection", "true in live"))
            if not self.scale.database.multi_az:
                found.append(("scale.database.multiAz", "true in live"))
            if self.scale.registry_force_delete:
                found.append(("scale.registryForceDelete", "false in live"))
        if self.shape.services and not any(s.public for s in self.shape.services.values()):
            found.append(("shape.services", "at least one public service"))
        found += _priority_problems(sorted(self.shape.services))
        # Each substrate's own vocabulary and limits (live's load balancer on AWS, ...).
        from components import substrates

        info = substrates.get(self.identity.cloud)
        for name in sorted(set(self.substrate_images) - set(info.images)):
            known = ", ".join(sorted(info.images)) or "none"
            found.append((f"substrateImages.{name}", f"an image {info.name} runs ({known})"))
        found += info.problems(self)
        return found


LISTENER_PRIORITIES = 50_000
"""An ALB listener rule priority is 1..50000 (Elastic Load Balancing, "Listener rules")."""


def listener_priority(service: str) -> int:
    """A service's listener-rule priority, a function of its name alone.

    ``1 + sha256(name) mod 50000``: adding or removing a service never moves another service's
    rule (a real update would otherwise hit PriorityInUse while rules swap numbers). Host-header
    rules never overlap, so the order among them does not matter; two names that collide are
    refused by the spec (``StageSpec.problems``).
    """
    digest = hashlib.sha256(service.encode()).hexdigest()
    return 1 + int(digest, 16) % LISTENER_PRIORITIES


def _priority_problems(services: list[str]) -> list[tuple[str, str]]:
    seen: dict[int, str] = {}
    found = []
    for service in services:
        priority = listener_priority(service)
        if priority in seen:
            found.append(
                (
                    f"shape.services.{service}",
                    f"a name whose listener priority ({priority}) is not {seen[priority]}'s",
                )
            )
        seen.setdefault(priority, service)
    return found


def digest_of(image: str) -> str:
    """The ``sha256:...`` part of a digest-pinned reference."""
    return image.rsplit("@", 1)[1]


def repository_of(image: str) -> str:
    return image.rsplit("@", 1)[0]


def is_digest_ref(image: str) -> bool:
    # fullmatch: with re.match, ``$`` also matches before a trailing newline.
    return re.fullmatch(DIGEST_PATTERN, image) is not None
