"""The render cache: an unchanged stage is served without rendering; any change to what the
render depends on (config, program source, pipeline file) misses."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pipeline.cache import RenderCache, source_digest
from pipeline.render import render_stages
from pipeline.stages import load_stages
from tests.conftest import PROJECT_DIR, edit_stack


def test_a_second_render_is_served_from_the_cache(tmp_path, stacks_copy):
    rendered: list[list[str]] = []

    def render_all(configs, stored):
        rendered.append([c.stack for c in configs])
        return render_stages(PROJECT_DIR, configs, ready=stored)

    def run():
        cache = RenderCache(tmp_path / "cache", PROJECT_DIR, stacks_copy / "pipeline.yaml")
        configs = load_stages(stacks_copy, ["dev", "test"]).configs.values()
        return cache, cache.render(configs, render_all)

    _, first = run()
    cache, second = run()
    assert rendered == [["dev", "test"]] and cache.hits == ["dev", "test"]
    assert {s: r.to_json() for s, r in first.items()} == {s: r.to_json() for s, r in second.items()}

    edit_stack(
        stacks_copy, "test", lambda c: c["stageline:scale"].__setitem__("natGateways", "perAz")
    )
    cache, third = run()
    assert rendered[-1] == ["test"] and cache.hits == ["dev"]
    assert third["test"].to_json() != second["test"].to_json()

    (stacks_copy / "pipeline.yaml").write_text(
        (stacks_copy / "pipeline.yaml").read_text() + "\n# a comment changes the key\n"
    )
    cache, _ = run()
    assert cache.hits == [] and rendered[-1] == ["dev", "test"]


def test_a_changed_source_file_changes_the_key(tmp_path):
    project = tmp_path / "project"
    shutil.copytree(PROJECT_DIR / "components", project / "components")
    (project / "pipeline").mkdir()
    shutil.copy(PROJECT_DIR / "__main__.py", project / "__main__.py")
    before = source_digest(project)
    module = next(Path(project / "components").rglob("*.py"))
    module.write_text(module.read_text() + "\n# changed\n")
    assert source_digest(project) != before


def test_a_changed_blueprint_changes_the_key(tmp_path):
    """The shape lives in blueprint.yaml, outside components/: a service added there must not
    be served the old render."""
    project = tmp_path / "project"
    (project / "pipeline").mkdir(parents=True)
    shutil.copy(PROJECT_DIR / "__main__.py", project / "__main__.py")
    shutil.copy(PROJECT_DIR / "blueprint.yaml", project / "blueprint.yaml")
    before = source_digest(project)
    blueprint = project / "blueprint.yaml"
    blueprint.write_text(blueprint.read_text() + "\n# changed\n")
    assert source_digest(project) != before


def test_a_failed_render_is_not_stored(tmp_path, stacks_copy):
    from pipeline.render import StageRender

    cache = RenderCache(tmp_path / "cache", PROJECT_DIR, stacks_copy / "pipeline.yaml")
    config = load_stages(stacks_copy, ["dev"]).configs["dev"]
    cache.put(config, StageRender("dev", config.source, error="boom"))
    assert cache.get(config) is None


def test_an_unchanged_plan_does_not_start_the_policy_pack(tmp_path, stacks_copy, monkeypatch):
    from pipeline import plan as planning
    from pipeline.policy import check

    def plan():
        cache = RenderCache(tmp_path / "cache", PROJECT_DIR, stacks_copy / "pipeline.yaml")
        return planning.make_plan(PROJECT_DIR, stacks_copy, ["dev"], cache=cache)

    first = plan()
    assert first.compliance["dev"]["rules"] > 0

    def no_pack(*args, **kwargs):
        raise AssertionError("the pack was started for an unchanged stage")

    monkeypatch.setattr(check, "pack_for_plan", no_pack)
    second = plan()
    assert (second.policy, second.compliance) == (first.policy, first.compliance)

    # A changed stage misses both caches: the pack must run for it.
    edit_stack(
        stacks_copy, "dev", lambda c: c["stageline:scale"].__setitem__("natGateways", "perAz")
    )
    with pytest.raises(AssertionError, match="the pack was started"):
        plan()


def test_a_changed_pack_or_policy_config_changes_the_policy_key(tmp_path, stacks_copy):
    from pipeline.cache import PolicyCache

    project = tmp_path / "project"
    shutil.copytree(PROJECT_DIR / "policies", project / "policies")
    (project / "pipeline" / "policy").mkdir(parents=True)
    renders = RenderCache(tmp_path / "cache", PROJECT_DIR, stacks_copy / "pipeline.yaml")
    config = load_stages(stacks_copy, ["dev"]).configs["dev"]

    def key():
        return PolicyCache(renders, project)._path(config)

    before = key()
    (project / "policies" / "config" / "dev.json").write_text("{}\n")
    after_config = key()
    rule = next((project / "policies" / "rules").rglob("aws.py"))
    rule.write_text(rule.read_text() + "\n# changed\n")
    assert len({before, after_config, key()}) == 3
