"""Logs role on Azure: one Log Analytics workspace per stage, with the stage's retention."""

from __future__ import annotations

import pulumi
import pulumi_azure_native as azure

from components.azure.context import AzureContext, child
from components.roles import role_token


class Logs(pulumi.ComponentResource):
    log_sink_id: pulumi.Output[str]
    customer_id: pulumi.Output[str]
    shared_key: pulumi.Output[str]

    def __init__(self, name: str, ctx: AzureContext, parent: pulumi.Resource) -> None:
        super().__init__(role_token("azure", "Logs"), name, None, child(parent))
        workspace = azure.operationalinsights.Workspace(
            f"{name}-workspace",
            resource_group_name=ctx.resource_group_name,
            location=ctx.location,
            sku=azure.operationalinsights.WorkspaceSkuArgs(name="PerGB2018"),
            retention_in_days=ctx.spec.scale.log_retention_days,
            # Reading a resource's logs needs permission on that resource, not the workspace.
            features=azure.operationalinsights.WorkspaceFeaturesArgs(
                enable_log_access_using_only_resource_permissions=True
            ),
            tags=ctx.tags,
            opts=child(self),
        )
        # The container apps environment ships logs with the workspace's shared key.
        keys = azure.operationalinsights.get_shared_keys_output(
            resource_group_name=ctx.resource_group_name,
            workspace_name=workspace.name,
            opts=pulumi.InvokeOutputOptions(parent=self),
        )
        self.log_sink_id = workspace.id
        self.customer_id = workspace.customer_id
        self.shared_key = pulumi.Output.secret(keys.primary_shared_key.apply(lambda k: k or ""))
        self.register_outputs({"logSinkId": self.log_sink_id, "customerId": self.customer_id})
