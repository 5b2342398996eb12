"""Releases: digests only, every service, an id from the content, immutable on disk."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.cli import main
from pipeline.promote.release import ReleaseError, ReleaseStore, make_release, parse_images
from tests.conftest import PROJECT_DIR
from tests.promote.conftest import images
from tests.promote.record_reader import record, release

DIGEST = "sha256:" + "c" * 64


@pytest.mark.parametrize(
    ("pairs", "says"),
    [
        (["api=ghcr.io/s/api:latest", f"web=w@{DIGEST}"], "tag :latest is mutable"),
        (["api=ghcr.io/s/api:v1", f"web=w@{DIGEST}"], "tag :v1 is mutable"),
        ([f"api=a@{DIGEST}", f"web=w@{DIGEST}", f"db=d@{DIGEST}"], "unknown service 'db'"),
        ([f"api=a@{DIGEST}"], "no image for service 'web'"),
        ([f"api=a@{DIGEST}", f"api=a@{DIGEST}", f"web=w@{DIGEST}"], "given twice"),
        (["api", f"web=w@{DIGEST}"], "expected SERVICE=REPO@sha256"),
        ([f"api=a@{DIGEST[:-1]}", f"web=w@{DIGEST}"], "not a digest reference"),
    ],
)
def test_bad_images_are_refused(pairs, says):
    with pytest.raises(ReleaseError) as caught:
        parse_images(pairs, {"api", "web"})
    assert says in str(caught.value)


def test_id_comes_from_content_and_the_store_is_immutable(tmp_path):
    store = ReleaseStore(tmp_path)
    first = make_release(PROJECT_DIR, images("a"))
    again = make_release(PROJECT_DIR, images("a"))
    other = make_release(PROJECT_DIR, images("b"))
    assert first.id == again.id != other.id
    assert first.commit and first.policy_pack.startswith(("version:", "tree:"))
    stored, created = store.save(first)
    assert created and store.get(first.id) == stored
    _, created_again = store.save(again)
    assert not created_again, "the same content is the same release"
    path = store.path(first.id)
    data = json.loads(path.read_text())
    data["images"]["api"] = data["images"]["api"][:-1] + "f"
    path.write_text(json.dumps(data))
    with pytest.raises(ReleaseError, match="was edited"):
        store.get(first.id)


def test_cli_create_and_refuse_a_tag(tmp_path: Path, capsys):
    state = tmp_path / "state"
    code = main(
        ["release", "create", "--state-dir", str(state), "--json"]
        + [f"--image={s}={i}" for s, i in images("d").items()]
    )
    assert code == 0
    made = json.loads(capsys.readouterr().out.splitlines()[0])  # the release event
    assert release(state, made["id"]).id == made["id"]  # in the directory's git record
    code = main(
        [
            "release",
            "create",
            "--state-dir",
            str(state),
            "--image",
            "api=ghcr.io/stageline/api:latest",
            "--image",
            f"web=w@{DIGEST}",
        ]
    )
    assert code == 2
    assert "tag :latest is mutable" in capsys.readouterr().err
    assert len(record(state).releases.all()) == 1, "nothing written on refusal"
