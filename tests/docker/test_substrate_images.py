"""A stack pins the substrate's own images (``<project>:substrateImages``): the docker lane pins
the images it built here; real users keep the shipped public references (images.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from components.docker import images
from components.spec.loader import PROJECT
from pipeline.stages import load_stages
from tests.conftest import PROJECT_DIR, STACKS_DIR, by_type, edit_stack, render

LOCAL_CADDY = "127.0.0.1:5055/caddy@sha256:" + "ab" * 32


def _stacks(root: Path) -> Path:
    shutil.copy(PROJECT_DIR / "Pulumi.yaml", root / "Pulumi.yaml")
    shutil.copytree(STACKS_DIR, root / "stacks")
    return root / "stacks"


def test_a_pinned_image_replaces_the_default_and_nothing_else(tmp_path: Path) -> None:
    stacks = _stacks(tmp_path)
    edit_stack(
        stacks, "local", lambda c: c.update({f"{PROJECT}:substrateImages": {"caddy": LOCAL_CADDY}})
    )
    stage = render(stacks, "local")["local"]
    assert stage.error is None, stage.error
    pulled = {
        i["name"]: i["inputs"]["name"]
        for i in by_type(stage, "docker:index/remoteImage:RemoteImage")
    }
    # The proxy and the file writers (components/docker/files.py) run what the stack pinned.
    assert pulled["local-services-proxy-image"] == LOCAL_CADDY
    assert pulled["local-services-files-image"] == images.CADDY  # "files" was not pinned
    assert pulled["local-database-image"] == images.POSTGRES[16]


@pytest.mark.parametrize(
    ("stack", "value", "expected"),
    [
        ("local", {"nginx": LOCAL_CADDY}, "substrateImages.nginx: expected an image docker runs"),
        ("local", {"caddy": "caddy:2"}, "expected an image pinned by digest"),
        ("dev", {"caddy": LOCAL_CADDY}, "substrateImages.caddy: expected an image aws runs (none)"),
    ],
)
def test_a_wrong_pin_is_refused_naming_file_and_key(
    tmp_path: Path, stack: str, value: dict[str, str], expected: str
) -> None:
    stacks = _stacks(tmp_path)
    edit_stack(stacks, stack, lambda c: c.update({f"{PROJECT}:substrateImages": value}))
    with pytest.raises(Exception) as caught:
        load_stages(stacks, [stack]).configs[stack].spec()
    message = str(caught.value)
    assert f"Pulumi.{stack}.yaml" in message and f"{PROJECT}:substrateImages" in message, message
    assert expected in message, message
