"""Azure container rules: images pinned by digest from the stage's own registry, HTTPS-only
ingress, registry pulls and secrets through the managed identity, never by password."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity, StackValidationArgs

from ..graph import as_list, of_type
from ..rule import RuleSet
from ..secrets import has_url_credentials, is_secret_name

RULES = RuleSet("containers", substrate="azure")

APP = "azure-native:app:ContainerApp"
REGISTRY = "azure-native:containerregistry:Registry"
IMAGE = re.compile(
    r"^(?P<host>[a-z0-9]+\.azurecr\.io)/(?P<repository>[a-z0-9._/-]+)@sha256:[0-9a-f]{64}$"
)


def containers(props: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    template = props.get("template") or {}
    for container in as_list(template.get("containers")):
        if isinstance(container, Mapping):
            yield container


def configuration(props: Mapping[str, Any]) -> Mapping[str, Any]:
    value = props.get("configuration")
    return value if isinstance(value, Mapping) else {}


@RULES.resource(
    "azure-app-containerapp-image-pinned-by-digest",
    types=(APP,),
    description="Container images are pinned by @sha256 digest in a private Azure container"
    " registry.",
    severity=Severity.HIGH,
    remediation="Reference images as <registry>.azurecr.io/<repo>@sha256:<digest> (the"
    " release's digests, imported into the stage's registry); never by tag.",
)
def azure_app_containerapp_image_pinned_by_digest(
    args: ResourceValidationArgs, report: ReportViolation
) -> None:
    for container in containers(args.props):
        image = str(container.get("image", ""))
        if IMAGE.match(image) is None:
            report(
                f"container {container.get('name')}: image {image} is not an Azure container"
                " registry image pinned by digest",
                None,
            )


@RULES.stack(
    "azure-app-containerapp-image-from-stage-registry",
    description="Every container image comes from the stage's own container registry.",
    severity=Severity.HIGH,
    remediation="Promote a release by importing its digests into this stage's registry"
    " (<project>:azure:Registry) and run them from there.",
)
def azure_app_containerapp_image_from_stage_registry(
    args: StackValidationArgs, report: ReportViolation
) -> None:
    hosts = {
        f"{str(r.props.get('registryName', '')).lower()}.azurecr.io"
        for r in of_type(args.resources, REGISTRY)
    }
    for app in of_type(args.resources, APP):
        for container in containers(app.props):
            image = str(container.get("image", ""))
            if image.split("/", 1)[0] not in hosts:
                report(
                    f"container {container.get('name')}: {image} is not in a registry of this"
                    " stack",
                    app.urn,
                )


@RULES.resource(
    "azure-app-containerapp-https-only",
    types=(APP,),
    description="Ingress serves HTTPS only: plain HTTP is not allowed (allowInsecure false).",
    severity=Severity.HIGH,
    remediation="Set configuration.ingress.allowInsecure to false; HTTP requests are then"
    " redirected to HTTPS.",
)
def azure_app_containerapp_https_only(
    args: ResourceValidationArgs, report: ReportViolation
) -> None:
    ingress = configuration(args.props).get("ingress") or {}
    if ingress.get("allowInsecure") is True:
        report("ingress allowInsecure is true", None)


@RULES.resource(
    "azure-app-containerapp-registry-by-identity",
    types=(APP,),
    description="Images are pulled with a managed identity, never with a registry username"
    " and password.",
    severity=Severity.CRITICAL,
    remediation="List the registry under configuration.registries with identity set to the"
    " app's user-assigned identity (AcrPull on the registry); drop username and"
    " passwordSecretRef.",
)
def azure_app_containerapp_registry_by_identity(
    args: ResourceValidationArgs, report: ReportViolation
) -> None:
    for registry in as_list(configuration(args.props).get("registries")):
        server = registry.get("server")
        if registry.get("passwordSecretRef") or registry.get("username"):
            report(f"registry {server} is pulled with a username and password", None)
        elif not registry.get("identity"):
            report(f"registry {server} has no managed identity to pull with", None)


@RULES.resource(
    "azure-app-containerapp-secrets-by-reference",
    types=(APP,),
    description="Secrets reach containers only as Key Vault references, never as values in"
    " the app's configuration or plain environment variables.",
    severity=Severity.CRITICAL,
    remediation="Keep the value in the stage's Key Vault; list it under configuration.secrets"
    " with keyVaultUrl and identity, and refer to it with env[].secretRef.",
)
def azure_app_containerapp_secrets_by_reference(
    args: ResourceValidationArgs, report: ReportViolation
) -> None:
    for secret in as_list(configuration(args.props).get("secrets")):
        if not str(secret.get("keyVaultUrl", "")).startswith("https://"):
            report(f"secret {secret.get('name')} is not a Key Vault reference", None)
    for container in containers(args.props):
        for variable in as_list(container.get("env")):
            name = str(variable.get("name", ""))
            value = variable.get("value")
            if is_secret_name(name) and value is not None:
                report(
                    f"container {container.get('name')}: {name} is a plain environment value",
                    None,
                )
            elif isinstance(value, str) and has_url_credentials(value):
                report(
                    f"container {container.get('name')}: {name} embeds credentials in a URL",
                    None,
                )
