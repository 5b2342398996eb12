"""Messages that say the problem: a scale-key typo, a stage that may not set a key, and a
namespace typo that would otherwise be ignored, each with what was probably meant."""

from __future__ import annotations

import pytest

from pipeline.stages import StagesError, load_stages
from tests.conftest import edit_stack


def _problem(stacks_dir, stack: str) -> str:
    with pytest.raises(StagesError) as raised:
        load_stages(stacks_dir, [stack])
    return str(raised.value)


def test_a_scale_key_typo_is_unknown_with_a_suggestion(stacks_copy):
    edit_stack(
        stacks_copy,
        "dev",
        lambda c: c["stageline:scale"].setdefault("database", {}).__setitem__("storageGB", 30),
    )
    text = _problem(stacks_copy, "dev")
    assert "stageline:scale.database.storageGB: unknown scale key" in text
    assert "did you mean 'database.storageGb'?" in text
    assert "lets this stage set" not in text


def test_a_wildcard_scale_key_typo_names_the_service(stacks_copy):
    edit_stack(
        stacks_copy,
        "dev",
        lambda c: c["stageline:scale"].__setitem__("services", {"api": {"cpus": 512}}),
    )
    assert "did you mean 'services.api.cpu'?" in _problem(stacks_copy, "dev")


def test_a_namespace_typo_is_an_error_not_ignored(stacks_copy):
    edit_stack(stacks_copy, "test", lambda c: c.__setitem__("stagline:scale", {"natGateways": 2}))
    text = _problem(stacks_copy, "test")
    assert "stagline:scale: unknown namespace 'stagline'; did you mean 'stageline:scale'?" in text


def test_other_providers_namespaces_are_theirs(stacks_copy):
    edit_stack(stacks_copy, "dev", lambda c: c.__setitem__("aws:skipMetadataApiCheck", "true"))
    assert "dev" in load_stages(stacks_copy, ["dev"]).specs


def test_a_config_key_typo_is_unknown_with_a_suggestion_in_words(stacks_copy):
    def typo(config):
        config["stageline:cidrr"] = config.pop("stageline:cidr")

    edit_stack(stacks_copy, "dev", typo)
    text = _problem(stacks_copy, "dev")
    assert "stageline:cidrr: unknown key; did you mean 'stageline:cidr'?" in text
    assert "expected one of cidr, cloud, " in text and "['" not in text, text
