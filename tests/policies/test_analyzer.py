"""The pack's Struct walk (policies/analyzer.py ``struct_dict``) answers what upstream's
``json_format.MessageToDict`` answers, for dev's and live's resources and the edge values."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from google.protobuf import json_format, struct_pb2  # type: ignore[import-untyped]

from pipeline.policy.wire import struct
from policies.analyzer import struct_dict
from tests.policies.conftest import Shipped


def _same(properties: dict[str, Any]) -> None:
    message = struct(properties)
    expected = json_format.MessageToDict(message)
    found = struct_dict(message)
    # Equal, and equal as text: same keys in the same order, numbers of the same type.
    assert found == expected
    assert json.dumps(found) == json.dumps(expected)


def test_every_shipped_resource_reads_as_message_to_dict_reads_it(
    shipped: dict[str, Shipped],
) -> None:
    resources = [r for stage in shipped.values() for r in stage.resources]
    assert len(resources) > 150
    for resource in resources:
        _same(resource["inputs"])


def test_edge_values_read_as_message_to_dict_reads_them() -> None:
    _same({})
    _same({"none": None, "empty": {}, "list": [], "nested": [[{"a": [1, 2.5, None]}], "x"]})
    _same({"int": 3, "negative": -0.0, "big": 1e300, "true": True, "false": False, "s": ""})
    unset = struct_pb2.Struct()
    unset.fields["kindless"].CopyFrom(struct_pb2.Value())  # no kind set at all
    assert struct_dict(unset) == json_format.MessageToDict(unset) == {"kindless": None}


@pytest.mark.parametrize("number", [math.inf, -math.inf, math.nan])
def test_numbers_json_cannot_hold_are_refused_as_upstream_refuses_them(number: float) -> None:
    message = struct_pb2.Struct()
    message.update({"n": number})
    with pytest.raises(ValueError):
        json_format.MessageToDict(message)
    with pytest.raises(ValueError):
        struct_dict(message)
