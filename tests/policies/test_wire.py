"""The wire form the harness sends the pack (pipeline/policy/wire.py), as the engine sends it:
one AnalyzeRequest per resource, with its package's default provider; one AnalyzeStackRequest
with the stack, the default providers and every resource, each resource's properties and
provider the same as in its own Analyze request."""

from __future__ import annotations

from google.protobuf import json_format

from pipeline.policy.wire import SECRET_SIG, SECRET_SIG_KEY, UNKNOWN, StageGraph, WireStage

STACK, PROJECT = "dev", "shop"
PREFIX = f"urn:pulumi:{STACK}::{PROJECT}"


def _graph() -> StageGraph:
    component = {
        "type": "shop:aws:Environment",
        "urn": f"{PREFIX}::shop:aws:Environment::dev",
        "name": "dev",
        "custom": False,
    }
    key = {
        "type": "aws:kms/key:Key",
        "urn": f"{PREFIX}::shop:aws:Environment$aws:kms/key:Key::dev-key",
        "name": "dev-key",
        "custom": True,
        "parent": component["urn"],
        "inputs": {"enableKeyRotation": True, "description": "[secret]"},
        "options": {"protect": True},
    }
    bucket = {
        "type": "aws:s3/bucket:Bucket",
        "urn": f"{PREFIX}::aws:s3/bucket:Bucket::data",
        "name": "data",
        "custom": True,
        "inputs": {"bucket": "[unknown]", "tags": {"stage": "dev"}},
    }
    return StageGraph(
        STACK,
        PROJECT,
        [component, key, bucket],
        outputs={"stage": "dev"},
        config={"aws:region": "eu-west-1", "shop:cloud": "aws"},
    )


def test_each_resource_goes_with_its_packages_default_provider() -> None:
    graph = _graph()
    requests = list(WireStage(graph).analyze_requests())
    assert [r.urn for r in requests] == [r["urn"] for r in graph.resources]
    component, key, bucket = requests
    assert not component.HasField("provider")
    assert key.provider == bucket.provider
    assert key.provider.type == "pulumi:providers:aws"
    assert (
        key.provider.urn
        == graph.provider_urn("aws")
        == f"{PREFIX}::pulumi:providers:aws::" + (key.provider.name)
    )
    assert key.provider.name.startswith("default_")
    inputs = json_format.MessageToDict(key.provider.properties)
    assert inputs["region"] == "eu-west-1" and "version" in inputs
    # Top-level resources hang off the stack; options carry what the engine sends.
    assert (
        bucket.options.parent == graph.stack_urn and key.options.parent == graph.resources[0]["urn"]
    )
    assert key.options.protect and not bucket.options.protect


def test_masked_values_go_back_as_the_engine_marshals_them() -> None:
    _, key, bucket = WireStage(_graph()).analyze_requests()
    secret = json_format.MessageToDict(key.properties)["description"]
    assert secret == {SECRET_SIG_KEY: SECRET_SIG, "value": "[secret]"}
    assert json_format.MessageToDict(bucket.properties)["bucket"] == UNKNOWN


def test_the_stack_request_holds_the_stack_its_providers_and_every_resource() -> None:
    graph = _graph()
    wire = WireStage(graph)
    requests = list(wire.analyze_requests())
    stack, provider, *rest = wire.stack_request().resources
    assert (stack.type, stack.urn) == ("pulumi:pulumi:Stack", graph.stack_urn)
    assert json_format.MessageToDict(stack.properties) == {"stage": "dev"}
    assert (provider.type, provider.urn) == ("pulumi:providers:aws", graph.provider_urn("aws"))
    assert provider.parent == graph.stack_urn
    assert provider.properties == requests[1].provider.properties
    assert [r.urn for r in rest] == [r.urn for r in requests]
    for resource, request in zip(rest, requests, strict=True):
        assert resource.properties == request.properties
        assert resource.provider == request.provider
        assert resource.options == request.options
        assert resource.parent == (request.options.parent or graph.stack_urn)
