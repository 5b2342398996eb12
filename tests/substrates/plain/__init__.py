"""A substrate with no provider: each role is a plain ComponentResource whose attributes are
derived from the spec. It exists to prove that a substrate plugs in as one folder (this one) and
one registration (``STAGELINE_SUBSTRATES``), with no shared code edited."""

from __future__ import annotations

import pulumi

from components.roles import Roles, role_token
from components.spec import StageSpec


class _Role(pulumi.ComponentResource):
    def __init__(self, role: str, name: str, parent: pulumi.Resource, **attrs: object) -> None:
        super().__init__(
            role_token("plain", role), name, None, pulumi.ResourceOptions(parent=parent)
        )
        for key, value in attrs.items():
            setattr(self, key, value)
        self.register_outputs({})


def build(name: str, spec: StageSpec, parent: pulumi.Resource) -> Roles:
    def out(value: str) -> pulumi.Output[str]:
        return pulumi.Output.from_input(value)

    services = sorted(spec.shape.services)
    urls = {s: out(f"https://{s}.{spec.identity.domain}") for s in services}
    return Roles(
        network=_Role("Network", f"{name}-network", parent, network_id=out(spec.identity.cidr)),
        keys=_Role(
            "Keys",
            f"{name}-keys",
            parent,
            key_id=out(f"{name}-key"),
            secret_ids={s: out(f"{name}-{s}-secret") for s in spec.secret_keys},
        ),
        logs=_Role("Logs", f"{name}-logs", parent, log_sink_id=out(f"{name}-logs")),
        registry=_Role(
            "Registry",
            f"{name}-registry",
            parent,
            registry_url=out(f"registry.{spec.identity.domain}"),
            repository_urls={s: out(f"registry.{spec.identity.domain}/{s}") for s in services},
        ),
        database=_Role(
            "Database",
            f"{name}-database",
            parent,
            endpoint=out(f"db.{spec.identity.domain}:{spec.shape.database.port}"),
            engine_version=out(str(spec.shape.database.major_version)),
        ),
        storage=_Role("Storage", f"{name}-storage", parent, bucket_name=out(f"{name}-bucket")),
        services=_Role(
            "Services", f"{name}-services", parent, url=urls[services[0]], service_urls=urls
        ),
    )
