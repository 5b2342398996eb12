"""The replacement tables (components/<substrate>/replacement.yaml) against the installed SDKs.

Every listed path must be an input of the resource in .venv, by its engine (camelCase) name,
nested segment by nested segment; every custom type a stage renders must be in a table; and the
path matching ``replaces`` does is the one the module documents.
"""

from __future__ import annotations

import importlib
import inspect
import re
import sys
from types import ModuleType

import pytest

from components import replacement
from components.replacement import forcing_paths, is_stateful, known_types, replaces
from tests.conftest import STACKS_DIR, render

_PACKAGES = {
    "aws": "pulumi_aws",
    "azure-native": "pulumi_azure_native",
    "docker": "pulumi_docker",
    "random": "pulumi_random",
    "tls": "pulumi_tls",
}


def _args_class(type_token: str) -> tuple[ModuleType, type]:
    package, module_path, name = type_token.split(":")
    root = _PACKAGES[package]
    module_name = module_path.split("/")[0]
    module = importlib.import_module(root if module_name == "index" else f"{root}.{module_name}")
    # Where a nested type has the resource's name (pulumi_aws.s3.BucketVersioningArgs is
    # Bucket's versioning block), the SDK calls the resource's own args <Name>InitArgs.
    own = sys.modules[getattr(module, name).__module__]
    return module, getattr(own, f"{name}InitArgs", None) or getattr(own, f"{name}Args")


def _engine_names(cls: type) -> dict[str, property]:
    """Engine name -> property, from the ``@pulumi.getter(name=...)`` the SDK generates."""
    members = inspect.getmembers(cls, lambda p: isinstance(p, property))
    return {
        prop.fget._pulumi_name: prop  # type: ignore[union-attr]
        for _, prop in members
        if getattr(prop.fget, "_pulumi_name", None)
    }


def _nested_args(module: ModuleType, prop: property) -> type | None:
    """The Args class a property holds (``RepositoryEncryptionConfigurationArgs``), if any."""
    hint = str(inspect.signature(prop.fget).return_annotation)  # type: ignore[arg-type]
    for name in re.findall(r"'(\w+Args)'", hint):
        cls = getattr(module, name, None) or getattr(module, "_inputs", None)
        if isinstance(cls, ModuleType):
            cls = getattr(cls, name, None)
        if isinstance(cls, type):
            return cls
    return None


def _missing(type_token: str, path: str) -> str | None:
    module, cls = _args_class(type_token)
    current: type | None = cls
    for segment in path.split("."):
        if current is None:
            return None  # a map or JSON value below: nothing further to check
        names = _engine_names(current)
        if segment not in names:
            return f"{segment!r} is not an input of {current.__name__}"
        current = _nested_args(module, names[segment])
    return None


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # importing pulumi_aws.s3 warns
@pytest.mark.parametrize("type_token", sorted(known_types()))
def test_every_listed_path_is_an_sdk_input(type_token: str) -> None:
    entry = replacement.tables()[type_token]
    problems = [f"{p}: {m}" for p in sorted(entry.paths) if (m := _missing(type_token, p))]
    assert not problems, f"{type_token} ({entry.source}): {problems}"


def test_the_check_fails_on_a_name_the_sdk_lacks() -> None:
    assert _missing("aws:ecs/taskDefinition:TaskDefinition", "containerDefinition")
    assert _missing("aws:ecs/taskDefinition:TaskDefinition", "runtimePlatform.cpuArch")
    assert (
        _missing("aws:ecs/taskDefinition:TaskDefinition", "runtimePlatform.cpuArchitecture") is None
    )


@pytest.mark.parametrize("substrate", replacement.SUBSTRATES)
def test_every_table_names_its_provenance(substrate: str) -> None:
    source = replacement.provenance(substrate)
    assert source.get("provider") and source.get("upstream"), substrate
    for token, entry in replacement.tables().items():
        assert entry.source, f"{token}: no source"


# What a release (new digests) or a scale key changes on AWS: these entries must be read from
# the provider's source, not recalled.
RELEASE_AND_SCALE_TYPES = (
    "aws:ecs/taskDefinition:TaskDefinition",
    "aws:ecs/service:Service",
    "aws:appautoscaling/target:Target",
    "aws:lb/targetGroup:TargetGroup",
    "aws:lb/listenerRule:ListenerRule",
    "aws:cloudwatch/logGroup:LogGroup",
    "aws:ecr/repository:Repository",
    "aws:rds/instance:Instance",
    "aws:ec2/natGateway:NatGateway",
    "aws:lb/loadBalancer:LoadBalancer",
)
_CHECKED = re.compile(r"^hashicorp/terraform-provider-aws@[0-9a-f]{8,40}( \(.+\))?$")


def test_every_aws_entry_says_where_its_flags_were_read() -> None:
    """Each AWS type names the commit of terraform-provider-aws its resource file was read at
    (and the file, ``source``), or says ``recalled``; release and scale types are read."""
    problems = []
    for token, entry in replacement.tables().items():
        if not token.startswith("aws:"):
            continue
        if not entry.source.startswith("internal/service/") or not entry.source.endswith(".go"):
            problems.append(f"{token}: source {entry.source!r} is not a resource file")
        if entry.checked != "recalled" and not _CHECKED.match(entry.checked):
            problems.append(f"{token}: checked {entry.checked!r} is neither a commit nor recalled")
    for token in RELEASE_AND_SCALE_TYPES:
        if not _CHECKED.match(replacement.tables()[token].checked):
            problems.append(f"{token}: a release or scale type must be read from source")
    assert not problems, problems
    assert replacement.provenance("aws").get("checked"), "the table explains its checked field"


def test_a_new_identifier_replaces_the_database() -> None:
    # identifier and identifier_prefix are ForceNew (internal/service/rds/instance.go).
    assert replaces("aws:rds/instance:Instance", ["inputs.identifier"])
    assert not replaces("aws:rds/instance:Instance", ["inputs.instanceClass", "inputs.multiAz"])


def test_a_new_deployment_controller_replaces_the_ecs_service() -> None:
    # deployment_controller.type is ForceNew (internal/service/ecs/service.go).
    assert replaces("aws:ecs/service:Service", ["inputs.deploymentController.type"])
    assert not replaces("aws:ecs/service:Service", ["inputs.taskDefinition", "desiredCount"])


def test_every_rendered_custom_type_is_in_a_table() -> None:
    renders = render(STACKS_DIR, "dev", "azure-dev", "local")  # one stage per substrate
    rendered = {r["type"] for stage in renders.values() for r in stage.resources if r.get("custom")}
    assert rendered, "nothing rendered"
    missing = sorted(rendered - known_types())
    assert not missing, f"types the blueprint emits with no replacement knowledge: {missing}"


def test_a_new_image_digest_replaces_the_task_definition() -> None:
    token = "aws:ecs/taskDefinition:TaskDefinition"
    assert replaces(token, ["containerDefinitions[0].image"])
    assert replaces(token, ["inputs.runtimePlatform.cpuArchitecture"])
    assert not replaces(token, ["tags.Release"])


def test_paths_above_a_listed_block_replace_and_options_never_do() -> None:
    token = "azure-native:app:ManagedEnvironment"
    assert replaces(token, ["vnetConfiguration"])  # the whole block appears or goes
    assert not replaces(token, ["vnetConfiguration.platformReservedCidr"])
    assert not replaces("aws:ecs/service:Service", ["options.dependsOn", "desiredCount"])
    assert forcing_paths("aws:ecs/service:Service", ["cluster", "taskDefinition"]) == ("cluster",)


def test_unknown_types_replace_on_nothing_and_hold_no_state() -> None:
    assert not replaces("example:index/thing:Thing", ["anything"])
    assert not is_stateful("example:index/thing:Thing")
    assert is_stateful("aws:rds/instance:Instance")
    assert not is_stateful("aws:ecs/taskDefinition:TaskDefinition")


def test_ignored_inputs_force_nothing() -> None:
    # The engine keeps the old value of an ignoreChanges input before the provider diffs.
    token = "docker:index/volume:Volume"
    assert replaces(token, ["inputs.labels[2].value"])
    assert not replaces(token, ["inputs.labels[2].value"], ["labels"])
    assert not replaces(token, ["labels[0].label"], ["labels[*]"])
    assert replaces(token, ["inputs.driver", "inputs.labels[0].value"], ["labels"])


def test_geo_redundant_backups_are_chosen_when_the_server_is_created() -> None:
    server = "azure-native:dbforpostgresql:Server"
    assert replaces(server, ["inputs.backup.geoRedundantBackup"])
    assert not replaces(server, ["inputs.backup.backupRetentionDays"])
