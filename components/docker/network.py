"""Network role on Docker: two bridge networks carved from the stage's CIDR.

``private`` is internal (no route off the host): the database, object storage and services live
there. ``edge`` holds only the proxy, the one container that publishes a port. The CIDR's first
half is the private subnet, its second half the edge, so two stages never share addresses.
"""

from __future__ import annotations

import ipaddress

import pulumi
import pulumi_docker as docker

from components.docker.context import DockerContext, child, network_options
from components.roles import role_token


class Network(pulumi.ComponentResource):
    network_id: pulumi.Output[str]
    private_network_name: pulumi.Output[str]
    edge_network_name: pulumi.Output[str]

    def __init__(self, name: str, ctx: DockerContext, parent: pulumi.Resource) -> None:
        super().__init__(role_token("docker", "Network"), name, None, child(parent))
        private_subnet, edge_subnet = ipaddress.IPv4Network(ctx.spec.identity.cidr).subnets(1)
        private = self._bridge(f"{name}-private", ctx, private_subnet, internal=True)
        edge = self._bridge(f"{name}-edge", ctx, edge_subnet, internal=False)
        self.network_id = private.id
        self.private_network_name = private.name
        self.edge_network_name = edge.name
        self.register_outputs(
            {
                "networkId": self.network_id,
                "privateNetworkName": self.private_network_name,
                "edgeNetworkName": self.edge_network_name,
            }
        )

    def _bridge(
        self, name: str, ctx: DockerContext, subnet: ipaddress.IPv4Network, *, internal: bool
    ) -> docker.Network:
        return docker.Network(
            name,
            driver="bridge",
            internal=internal,
            attachable=False,
            ipam_configs=[
                docker.NetworkIpamConfigArgs(subnet=str(subnet), gateway=str(next(subnet.hosts())))
            ],
            labels=ctx.network_labels(name),
            opts=network_options(self),
        )
