"""What a new user hits first: stack files left under another project's name (run `adopt`), a
stack file that `pulumi stack init` rewrote without its secrets provider, the history's default
length, and docs that say what the code does."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from components.spec.loader import PROJECT
from pipeline import usage
from pipeline.cli import main
from pipeline.stages import StagesError, load_stages
from tests.conftest import PROJECT_DIR
from tests.promote.typed_entries import to_append

OTHER = "acme-shop"


def _move_keys(stacks: Path, old: str, new: str) -> None:
    for path in stacks.glob("Pulumi.*.yaml"):
        path.write_text(path.read_text().replace(f"\n  {old}:", f"\n  {new}:"))


def test_keys_under_another_projects_name_say_run_adopt(stacks_copy: Path, capsys) -> None:
    """Pulumi.yaml renamed, stack files not moved: one line that names adopt, not one
    "got None" per key and stack."""
    _move_keys(stacks_copy, PROJECT, OTHER)
    with pytest.raises(StagesError) as refused:
        load_stages(stacks_copy)
    text = str(refused.value)
    assert len(text.splitlines()) == 1, text
    assert f"{usage.command_name()} adopt" in text
    assert f"{OTHER}:*" in text and repr(PROJECT) in text
    assert "got None" not in text
    assert main(["plan", "--stacks-dir", str(stacks_copy), "--no-cache"]) == 2
    err = capsys.readouterr().err
    assert "adopt" in err and err.count("\n") == 2, err  # the heading and the one line


def test_one_stack_under_another_name_is_not_taken_for_a_rename(stacks_copy: Path) -> None:
    path = stacks_copy / "Pulumi.dev.yaml"
    path.write_text(path.read_text().replace(f"\n  {PROJECT}:", f"\n  {OTHER}:"))
    with pytest.raises(StagesError) as refused:
        load_stages(stacks_copy, ["dev", "test"])
    assert "adopt" not in str(refused.value)
    assert str(refused.value).startswith(f"{path}: {PROJECT}:stage: expected 'dev'")


def _as_stack_init_writes_it(path: Path) -> None:
    """What `pulumi stack init --secrets-provider passphrase` leaves: the same config, no
    comments, an encryption salt and no `secretsprovider:` line (pkg/secrets/passphrase)."""
    doc = yaml.safe_load(path.read_text())
    doc.pop("secretsprovider")
    doc = {"encryptionsalt": "v1:c2FsdA==:v1:aXY=:Y2lwaGVy", **doc}
    path.write_text(yaml.safe_dump(doc, sort_keys=False))


def test_a_cloud_stack_file_without_its_secrets_provider_is_refused(stacks_copy: Path) -> None:
    _as_stack_init_writes_it(stacks_copy / "Pulumi.dev.yaml")
    with pytest.raises(StagesError) as refused:
        load_stages(stacks_copy, ["dev"])
    text = str(refused.value)
    assert text.startswith(f"{stacks_copy / 'Pulumi.dev.yaml'}: secretsprovider: missing"), text
    assert "docs/secrets.md" in text


def test_the_local_passphrase_stack_may_lose_the_line(stacks_copy: Path) -> None:
    """The CLI drops `secretsprovider:` from every passphrase stack it writes; a local stage
    has no key service to lose."""
    _as_stack_init_writes_it(stacks_copy / "Pulumi.local.yaml")
    assert list(load_stages(stacks_copy, ["local"]).specs) == ["local"]


def test_promotion_docs_do_not_say_the_copy_is_unwired() -> None:
    """The walk copies each image before its preview (orchestrator._copy_images)."""
    text = (PROJECT_DIR / "docs" / "promotion.md").read_text()
    assert "Not yet wired" not in text
    assert "before each stage's preview" in text


def test_history_shows_the_recent_end_unless_asked_for_all(tmp_path: Path, capsys) -> None:
    from pipeline.promote.cli import HISTORY_SHOWN
    from tests.promote.record_reader import record

    state_dir = tmp_path / "state"
    state = record(state_dir)
    total = HISTORY_SHOWN + 7
    for n in range(total):
        state.append(
            to_append({"release": f"r-{n:03}", "stage": "dev", "step": "up", "status": "completed"})
        )

    def shown(*args: str) -> tuple[list[str], str]:
        assert main(["history", "--state-dir", str(state_dir), *args]) == 0
        out, err = capsys.readouterr()
        return sorted(set(re.findall(r"r-\d{3}", out))), err

    releases, err = shown()
    assert releases == [f"r-{n:03}" for n in range(7, total)]
    assert f"the last {HISTORY_SHOWN} of {total} entries; --all" in err
    releases, err = shown("--all")
    assert len(releases) == total and err == ""
    releases, _ = shown("--limit", "3")
    assert releases == [f"r-{n:03}" for n in range(total - 3, total)]
    assert main(["history", "--state-dir", str(state_dir), "--json"]) == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert sum(1 for e in events if e["event"] == "entry") == total  # tools get every entry
    assert main(["history", "--state-dir", str(state_dir), "--all", "--limit", "3"]) == 2
    assert "not allowed with argument" in capsys.readouterr().err
