"""The replacement tables (components/<substrate>/replacement.yaml) against the installed SDKs.

Every listed path must be an input of the resource in .venv, by its engine (camelCase) name,
nested segment by nested segment; every custom type a stage renders must be in a table; and the
path matching ``replaces`` does is the one the module documents.
"""

from __future__ import annotations

import fnmatch
import importlib
import inspect
import re
import sys
from types import ModuleType

import pytest
import yaml

from components import replacement
from components.replacement import (
    forcing_paths,
    is_stateful,
    known_types,
    refusing_paths,
    replaces,
)
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


# Where each table may say its flags were read: the upstream the substrate's providers bridge
# or are generated from.
_UPSTREAMS = {
    "aws": {"hashicorp/terraform-provider-aws"},
    "azure": {"pulumi/pulumi-azure-native", "Azure/azure-rest-api-specs"},
    "docker": {
        "kreuzwerker/terraform-provider-docker",
        "hashicorp/terraform-provider-random",
        "hashicorp/terraform-provider-tls",
    },
}
_CHECKED = re.compile(r"^(?P<repo>[\w.-]+/[\w.-]+)@[0-9a-f]{40}( \(.+\))?$")

# How many entries of each table are still written from memory ("recalled"). Lower a number
# when an entry is read from its source; never raise one: a new type comes in read.
RECALLED_AT_MOST = {"aws": 0, "azure": 0, "docker": 0}

# What a release changes (new image digests) on each substrate; with every type a scale key is
# bound to (components/<substrate>/bindings.py) these must be read from source, not recalled.
RELEASE_TYPES = {
    "aws": ("aws:ecs/taskDefinition:TaskDefinition", "aws:ecs/service:Service"),
    "azure": ("azure-native:app:ContainerApp",),
    "docker": ("docker:index/container:Container", "docker:index/remoteImage:RemoteImage"),
}


def _entries(substrate: str) -> dict[str, dict[str, object]]:
    doc = yaml.safe_load(replacement.table_file(substrate).read_text(encoding="utf-8"))
    return dict(doc["types"])


def _scale_types(substrate: str) -> set[str]:
    bindings = importlib.import_module(f"components.{substrate}.bindings").BINDINGS
    types = set(_entries(substrate))
    return {
        token
        for binding in bindings
        if binding.source.startswith("scale:") and binding.type != "*"
        for token in fnmatch.filter(types, binding.type)
    }


@pytest.mark.parametrize("substrate", replacement.SUBSTRATES)
def test_every_entry_says_where_its_flags_were_read(substrate: str) -> None:
    """Each type names the full commit of the upstream file its flags were read from, or says
    ``recalled``."""
    problems = []
    for token, entry in _entries(substrate).items():
        checked = str(entry.get("checked", ""))
        match = _CHECKED.match(checked)
        if checked != "recalled" and not (match and match["repo"] in _UPSTREAMS[substrate]):
            problems.append(f"{token}: checked {checked!r} is neither upstream@commit nor recalled")
        source = str(entry.get("source", ""))
        if substrate == "aws" and not re.fullmatch(r"internal/service/\w+/\w+\.go", source):
            problems.append(f"{token}: source {source!r} is not a resource file")
    assert not problems, problems
    assert replacement.provenance(substrate).get("checked"), "the table explains its checked field"


def test_a_short_or_foreign_commit_is_not_a_reading() -> None:
    assert _CHECKED.match("hashicorp/terraform-provider-aws@" + "0" * 40 + " (v4 line)")
    assert not _CHECKED.match("hashicorp/terraform-provider-aws@04fc21d5")
    assert not _CHECKED.match("terraform-provider-aws@" + "0" * 40)


@pytest.mark.parametrize("substrate", replacement.SUBSTRATES)
def test_recalled_entries_only_shrink(substrate: str) -> None:
    entries = _entries(substrate)
    recalled = sorted(t for t, e in entries.items() if e.get("checked") == "recalled")
    print(f"{substrate}: {len(entries) - len(recalled)} read, {len(recalled)} recalled")
    assert len(recalled) <= RECALLED_AT_MOST[substrate], (
        f"{substrate}: {len(recalled)} recalled entries, at most {RECALLED_AT_MOST[substrate]}:"
        f" {recalled}"
    )


@pytest.mark.parametrize("substrate", replacement.SUBSTRATES)
def test_release_and_scale_types_are_read(substrate: str) -> None:
    entries = _entries(substrate)
    wanted = _scale_types(substrate) | set(RELEASE_TYPES[substrate])
    assert wanted, substrate
    recalled = sorted(t for t in wanted if entries[t].get("checked") == "recalled")
    assert not recalled, f"a release or scale type must be read from source: {recalled}"


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # importing pulumi_aws.s3 warns
def test_every_regional_aws_type_replaces_on_its_region() -> None:
    """terraform-provider-aws v6 forces a new resource when its own region changes (the
    forceNewIfRegionChanges interceptor): every type whose SDK takes a region lists it, and a
    global type (IAM, Route 53) has none to list."""
    problems = []
    for token, entry in replacement.tables().items():
        if not token.startswith("aws:"):
            continue
        regional = "region" in _engine_names(_args_class(token)[1])
        if regional != ("region" in entry.paths):
            problems.append(f"{token}: SDK region input {regional}, listed {not regional}")
    assert not problems, problems
    assert not replaces("aws:iam/role:Role", ["region"])


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
    token = "aws:s3/bucket:Bucket"  # lists objectLockConfiguration.objectLockEnabled
    assert replaces(token, ["objectLockConfiguration"])  # the whole block appears or goes
    assert replaces(token, ["inputs.objectLockConfiguration.objectLockEnabled"])
    assert not replaces(token, ["objectLockConfiguration.rule.defaultRetention.days"])
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


def test_azure_replaces_on_create_only_fields_of_the_resource_not_of_nested_types() -> None:
    # FlexibleServers.json marks backup.geoRedundantBackup create-only, but it sits in a nested
    # type, which azure-native's generator only reports (properties.go forceNew): the engine
    # sends an update, which Azure refuses. A create-only field of the resource replaces.
    server = "azure-native:dbforpostgresql:Server"
    assert not replaces(server, ["inputs.backup.geoRedundantBackup"])
    assert not replaces(server, ["inputs.createMode"])  # create and update in the spec
    assert replaces(server, ["inputs.administratorLogin"])
    environment = "azure-native:app:ManagedEnvironment"
    assert not replaces(environment, ["vnetConfiguration.infrastructureSubnetId"])
    assert replaces(environment, ["zoneRedundant"])


@pytest.mark.parametrize(
    "type_token", sorted(t for t, e in replacement.tables().items() if e.refused)
)
def test_every_refused_path_is_an_sdk_input_and_not_also_replacing(type_token: str) -> None:
    entry = replacement.tables()[type_token]
    problems = [f"{p}: {m}" for p in sorted(entry.refused) if (m := _missing(type_token, p))]
    assert not problems, f"{type_token}: {problems}"
    assert not entry.refused & entry.paths, "a path either replaces or is refused, not both"


def test_a_create_only_nested_field_is_refused_not_replaced() -> None:
    server = "azure-native:dbforpostgresql:Server"
    changed = ["inputs.backup.geoRedundantBackup", "inputs.sku.name"]
    assert refusing_paths(server, changed) == ("inputs.backup.geoRedundantBackup",)
    assert refusing_paths(server, changed, ["backup"]) == ()
    assert refusing_paths(server, ["inputs.sku.name"]) == ()
    environment = "azure-native:app:ManagedEnvironment"
    assert refusing_paths(environment, ["vnetConfiguration"]) == ("vnetConfiguration",)
    assert refusing_paths("aws:ecs/service:Service", ["desiredCount"]) == ()
