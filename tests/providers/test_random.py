"""Our random provider: real passwords by the real rules, its defaults and replacements."""

from __future__ import annotations

import bcrypt
import pytest
from pulumi.runtime.proto import provider_pb2

from tests.providers.conftest import Driver, as_dict, is_secret, plain, secret
from tools.providers.random_provider import LOWER, NUMERIC, PASSWORD, SPECIAL, UPPER

NONE = provider_pb2.DiffResponse.DIFF_NONE
SOME = provider_pb2.DiffResponse.DIFF_SOME


def test_plugin_reports_the_sdk_pinned_version(random: Driver) -> None:
    assert random.provider.GetPluginInfo(None, random.context).version == "4.21.4"


def test_password_honours_length_sets_and_minimums(random: Driver) -> None:
    inputs = {"length": 24, "special": True, "minSpecial": 5, "minUpper": 4, "minNumeric": 6}
    for _ in range(8):
        result = plain(random.create(PASSWORD, inputs).properties)["result"]
        assert len(result) == 24
        assert sum(c in SPECIAL for c in result) >= 5, result
        assert sum(c in UPPER for c in result) >= 4, result
        assert sum(c in NUMERIC for c in result) >= 6, result
        assert set(result) <= set(UPPER + LOWER + NUMERIC + SPECIAL)


def test_special_false_and_override_special(random: Driver) -> None:
    no_special = plain(random.create(PASSWORD, {"length": 64, "special": False}).properties)
    assert set(no_special["result"]) <= set(UPPER + LOWER + NUMERIC)
    only = {"length": 40, "upper": False, "lower": False, "numeric": False, "overrideSpecial": "#!"}
    assert set(plain(random.create(PASSWORD, only).properties)["result"]) == {"#", "!"}


def test_passwords_differ_between_creates(random: Driver) -> None:
    results = {
        plain(random.create(PASSWORD, {"length": 32}).properties)["result"] for _ in range(5)
    }
    assert len(results) == 5


def test_create_returns_defaults_and_secret_result_and_hash(random: Driver) -> None:
    created = random.create(PASSWORD, {"length": 16, "special": False})
    raw = as_dict(created.properties)
    assert created.id == "none"
    assert is_secret(raw["result"]) and is_secret(raw["bcryptHash"])
    assert not is_secret(raw["length"])
    props = plain(created.properties)
    # The defaults of passwordSchemaV3, as the real Create's outputs carry them.
    expected = {"upper": True, "lower": True, "numeric": True, "number": True, "minUpper": 0}
    assert {k: props[k] for k in expected} == expected
    assert props["special"] is False
    assert bcrypt.checkpw(props["result"].encode(), props["bcryptHash"].encode())
    assert props["bcryptHash"].startswith("$2b$10$")


def test_check_refuses_what_the_real_validators_refuse(random: Driver) -> None:
    short = random.check(PASSWORD, {"length": 3, "minUpper": 2, "minNumeric": 2})
    assert [(f.property, "minUpper" in f.reason) for f in short.failures] == [("length", True)]
    assert random.check(PASSWORD, {"length": 0}).failures[0].property == "length"
    assert random.check(PASSWORD, {"special": False}).failures[0].property == "length"
    fine = random.check(PASSWORD, {"length": 8, "special": False})
    assert not fine.failures
    # Like the real (plugin-framework) provider, Check adds no defaults: they appear in outputs.
    assert as_dict(fine.inputs) == {"length": 8, "special": False}


@pytest.mark.parametrize(
    ("news", "replaces"),
    [
        ({"length": 32, "special": False}, []),
        # An explicit default is no change: the state holds the default.
        ({"length": 32, "special": False, "upper": True, "minLower": 0}, []),
        ({"length": 33, "special": False}, ["length"]),
        ({"length": 32}, ["special"]),
        ({"length": 32, "special": False, "minNumeric": 2}, ["minNumeric"]),
        ({"length": 32, "special": False, "overrideSpecial": "_"}, ["overrideSpecial"]),
        ({"length": 32, "special": False, "keepers": {"image": "b"}}, ["keepers"]),
    ],
)
def test_diff_replaces_where_the_real_schema_requires(
    random: Driver, news: dict, replaces: list[str]
) -> None:
    old_inputs = {"length": 32, "special": False}
    created = random.create(PASSWORD, old_inputs)
    diff = random.diff(PASSWORD, created.properties, old_inputs, news)
    assert list(diff.replaces) == replaces
    assert diff.changes == (SOME if replaces else NONE)


def test_keepers_set_to_null_is_an_in_place_change(random: Driver) -> None:
    old_inputs = {"length": 8, "keepers": {"a": "1"}}
    created = random.create(PASSWORD, old_inputs)
    diff = random.diff(PASSWORD, created.properties, old_inputs, {"length": 8, "keepers": {}})
    assert diff.changes == SOME and list(diff.diffs) == ["keepers"] and not diff.replaces
    updated = plain(
        random.update(
            PASSWORD, created.properties, old_inputs, {"length": 8, "keepers": {}}
        ).properties
    )
    assert updated["result"] == plain(created.properties)["result"]
    assert is_secret(
        as_dict(random.update(PASSWORD, created.properties, old_inputs, {"length": 8}).properties)[
            "result"
        ]
    )


def test_read_returns_what_create_returned(random: Driver) -> None:
    inputs = {"length": 20}
    created = random.create(PASSWORD, inputs)
    read = random.read(PASSWORD, created, inputs)
    assert read.id == created.id
    assert as_dict(read.properties) == as_dict(created.properties)
    assert as_dict(read.inputs) == inputs


def test_an_input_that_arrived_secret_goes_back_secret(random: Driver) -> None:
    created = random.create(PASSWORD, {"length": 12, "overrideSpecial": secret("#")})
    raw = as_dict(created.properties)
    assert is_secret(raw["overrideSpecial"]) and raw["overrideSpecial"]["value"] == "#"
    assert not is_secret(raw["length"])
