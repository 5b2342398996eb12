"""Drift on real containers, healed from the record: two local stages (``pipelines.docker``) on
this machine's Docker engine, changed out of band with the Docker CLI (a container removed, a
container run again by hand under its name with another environment), then ``reconcile`` run
by the project's own CLI with the real engine. dev (autoPromote) is healed from its record; the
hand-made container, which the stack no longer holds, fails the heal until it is removed, after
which dev is in sync, answers its recorded release, and ``preview --refresh
--expect-no-changes`` from its record passes. live (approval required) gets a heal proposal and
is left as it was found; a reviewer's merge of the proposal heals it (``reconcile --merged``).
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from components import project
from tests.dockerlane.lane import https_get, stages_up, wait_for
from tools.demo.local_pipeline import LocalPipeline, git

pytestmark = pytest.mark.docker

CONTAINER = "docker:index/container:Container"
DEV, LIVE = "local-dev", "local-live"
REVIEWER = ("Rita Reviewer", "rita@example.com")


RECORD_BOOTSTRAP = """
import json, sys
from pathlib import Path
from components.spec import read_stack
from pipeline.promote.entries import OtherEntry
from pipeline.promote.state import StageChange
from pipeline.record.state import GitState
stack, project = sys.argv[1], sys.argv[2]
values = read_stack(Path("stacks"), stack).values
release, images = values[f"{project}:release"], values[f"{project}:images"]
images = json.loads(images) if isinstance(images, str) else images  # an object, as JSON
change = StageChange(stack, "docker", release, images, None, "bootstrap", "forward", None)
fields = {"stage": stack, "pipeline": "docker", "release": release, "step": "bootstrap"}
GitState(Path(".")).append(OtherEntry(extra={**fields, "status": "completed"}), change)
"""


def record_bootstrap(pipe: LocalPipeline, stack: str) -> None:
    """Record what the fixture's bare ``pulumi up`` deployed as the stage's record
    (``stages/<stack>``), as its first promotion would have: reconcile compares with a record,
    and only a recorded stage has one to propose a heal onto. The entry carries no promotion,
    so the gates and the gate audit do not read it."""
    python = str(pipe.project / ".venv" / "bin" / "python")
    out = subprocess.run(
        [python, "-c", RECORD_BOOTSTRAP, stack, project.name()],
        cwd=pipe.project,
        env=pipe.env,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr


def merge_as(clone: Path, who: tuple[str, str], stack: str, branch: str) -> str:
    """Merge ``branch`` into ``stages/<stack>`` with a merge commit as ``who``; push it."""
    env = {**os.environ, "GIT_AUTHOR_NAME": who[0], "GIT_AUTHOR_EMAIL": who[1]}
    env |= {"GIT_COMMITTER_NAME": who[0], "GIT_COMMITTER_EMAIL": who[1]}
    for args in (
        ["checkout", "-q", "-b", f"stages/{stack}", f"origin/stages/{stack}"],
        ["merge", "-q", "--no-ff", "-m", "heal", f"origin/{branch}"],
        ["push", "-q", "origin", f"stages/{stack}"],
    ):
        subprocess.run(["git", "-C", str(clone), *args], check=True, env=env, capture_output=True)
    return git(clone, "rev-parse", "HEAD")


@pytest.fixture(scope="module")
def pipe(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalPipeline]:
    with stages_up(tmp_path_factory.mktemp("reconcile"), (DEV, LIVE), "reconcile lane") as pipe:
        yield pipe


def answers(pipe: LocalPipeline, stack: str, release: str) -> bool:
    outputs = pipe.outputs(stack)
    for service in ("api", "web"):
        host, port = outputs["serviceUrls"][service].removeprefix("https://").split(":")
        try:
            status, body = https_get(
                host, int(port), outputs["healthPaths"][service], outputs["caCertificate"]
            )
        except OSError:
            return False
        if status != 200 or json.loads(body).get("release") != release:
            return False
    return True


def service_container(pipe: LocalPipeline, stack: str, service: str) -> str:
    """The provider id of the first replica of ``service`` (not its file writer)."""
    found = [
        i
        for urn, i in pipe.ids(stack, CONTAINER).items()
        if ":docker:Services$" in urn and urn.endswith(f"-{service}-0")
    ]
    assert len(found) == 1, pipe.ids(stack, CONTAINER)
    return found[0]


def recreate_with_env(pipe: LocalPipeline, container: str, env: str) -> str:
    """What someone with the Docker CLI does to change a container's environment: inspect it,
    remove it, and run it again under the same name, labels, networks (and aliases), mounts and
    settings, with ``env`` (``KEY=VALUE``) in place of its KEY. Returns the new container's id."""
    shown = pipe.docker("inspect", container)
    assert shown.returncode == 0, shown.stderr
    (found,) = json.loads(shown.stdout)
    config, host = found["Config"], found["HostConfig"]
    key = env.partition("=")[0]
    args = ["create", "--name", found["Name"].lstrip("/")]
    args += [f"--label={k}={v}" for k, v in sorted((config.get("Labels") or {}).items())]
    args += [f"--env={e}" for e in config["Env"] if e.partition("=")[0] != key] + [f"--env={env}"]
    networks = found["NetworkSettings"]["Networks"]
    first, *others = sorted(networks)
    aliases = [a for a in networks[first].get("Aliases") or [] if a != found["Id"][:12]]
    args += ["--network", first, *[f"--network-alias={a}" for a in aliases]]
    for mount in found["Mounts"]:
        source = mount["Name"] if mount["Type"] == "volume" else mount["Source"]
        mode = ",readonly" if not mount["RW"] else ""
        args.append(f"--mount=type={mount['Type']},src={source},dst={mount['Destination']}{mode}")
    for path, options in (host.get("Tmpfs") or {}).items():
        args.append(f"--tmpfs={path}:{options}")
    if config.get("User"):
        args += ["--user", config["User"]]
    if host.get("ReadonlyRootfs"):
        args.append("--read-only")
    args += [f"--memory={host['Memory']}", f"--memory-swap={host['MemorySwap']}"]
    if config.get("Entrypoint"):
        args += ["--entrypoint", config["Entrypoint"][0]]
    args += [config["Image"], *(config.get("Entrypoint") or [])[1:], *(config.get("Cmd") or [])]
    removed = pipe.docker("rm", "-f", container)
    assert removed.returncode == 0, removed.stderr
    created = pipe.docker(*args)
    assert created.returncode == 0, created.stderr
    new = created.stdout.strip()
    for network in others:
        more = [f"--alias={a}" for a in networks[network].get("Aliases") or []]
        joined = pipe.docker("network", "connect", *more, network, new)
        assert joined.returncode == 0, joined.stderr
    started = pipe.docker("start", new)
    assert started.returncode == 0, started.stderr
    return new


def test_reconcile_heals_dev_from_its_record_and_proposes_live(
    pipe: LocalPipeline, tmp_path: Path
) -> None:
    release = pipe.release("app-v2")
    done = pipe.cli("promote", release, "--to", DEV, "--health-timeout", "180")
    assert done.code == 0, done.describe()
    record_bootstrap(pipe, LIVE)
    in_sync = pipe.cli("reconcile", "--stage", DEV)
    assert in_sync.code == 0 and in_sync.result["stages"] == {DEV: "in sync"}, in_sync.describe()

    # Out of band: dev loses its api container and its web container is run again by hand
    # with another release in its environment; live loses its web container.
    dev_api, live_web = service_container(pipe, DEV, "api"), service_container(pipe, LIVE, "web")
    dev_web = service_container(pipe, DEV, "web")
    for container in (dev_api, live_web):
        removed = pipe.docker("rm", "-f", container)
        assert removed.returncode == 0, removed.stderr
    rogue = recreate_with_env(pipe, dev_web, "STAGELINE_RELEASE=out-of-band")
    env = pipe.docker("inspect", "-f", "{{json .Config.Env}}", rogue)
    assert "STAGELINE_RELEASE=out-of-band" in json.loads(env.stdout), env.stdout
    assert not answers(pipe, DEV, release)

    # The refresh loses the re-run web container (a new id): the heal creates one under a new
    # name, and the hand-made one keeps running beside it, on the same network aliases. It is
    # not the stack's, so reconcile removes nothing and says the heal failed (fail-closed).
    healed = pipe.cli("reconcile", "--stage", DEV, "--health-timeout", "180")
    assert healed.code == 1, healed.describe()
    (said,) = [e for e in healed.events if e.get("event") == "reconcile"]
    assert said["outcome"] == "heal failed" and said["drifted"], said
    ops = {c["urn"].rsplit("::", 1)[-1]: c["op"] for c in said["changes"]}
    assert any(u.endswith("-api-0") and op == "create" for u, op in ops.items()), ops
    assert any(u.endswith("-web-0") and op == "create" for u, op in ops.items()), ops
    assert "after the heal still 1 stray" in said["detail"], said["detail"]
    assert f"docker rm -f {rogue[:12]}" in said["detail"], said["detail"]
    assert service_container(pipe, DEV, "api") != dev_api  # a new container, from the record
    healed_web = service_container(pipe, DEV, "web")
    assert healed_web != rogue and pipe.docker("inspect", rogue).returncode == 0
    env = pipe.docker("inspect", "-f", "{{json .Config.Env}}", healed_web)
    assert f"STAGELINE_RELEASE={release}" in json.loads(env.stdout), env.stdout

    # Removed by hand as the detail says: dev runs exactly its record.
    assert pipe.docker("rm", "-f", rogue).returncode == 0
    in_sync = pipe.cli("reconcile", "--stage", DEV)
    assert in_sync.code == 0 and in_sync.result["stages"] == {DEV: "in sync"}, in_sync.describe()
    wait_for(lambda: answers(pipe, DEV, release), 120, "dev answering its recorded release")

    proposed = pipe.cli("reconcile", "--stage", LIVE, "--health-timeout", "60")
    assert proposed.code == 1, proposed.describe()
    (said,) = [e for e in proposed.events if e.get("event") == "reconcile"]
    assert said["outcome"] == "proposed" and said["remedy"] == "propose", said
    assert said["proposal"]["branch"] == f"promotions/{LIVE}/heal-bootstrap", said
    assert pipe.docker("inspect", live_web).returncode != 0  # live was left as it was found

    # What dev's record deploys is exactly what runs again.
    clone = pipe.clone(tmp_path / "clone")
    record = tmp_path / "dev-record"
    git(clone, "worktree", "add", "-q", "--detach", str(record), f"origin/stages/{DEV}")
    (record / ".venv").symlink_to((pipe.project / ".venv").resolve())
    out = pipe.pulumi(DEV, "preview", "--refresh", "--expect-no-changes", cwd=record)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]

    # A reviewer merges the heal proposal: reconcile --merged heals live from its record.
    reviewer = tmp_path / "reviewer"
    merged = merge_as(pipe.clone(reviewer), REVIEWER, LIVE, said["proposal"]["branch"])
    healed = pipe.cli("reconcile", "--stage", LIVE, "--merged", "--health-timeout", "180")
    assert healed.code == 0 and healed.result["stages"] == {LIVE: "healed"}, healed.describe()
    assert service_container(pipe, LIVE, "web") != live_web
    moved = pipe.clone(tmp_path / "after")
    assert git(moved, "rev-parse", f"origin/stages/{LIVE}^1") == merged

    entries = [e for e in pipe.cli("history", "--all").events if e.get("step") == "reconcile"]
    assert [(e["stage"], e["outcome"]) for e in entries] == [
        (DEV, "in sync"),
        (DEV, "heal failed"),
        (DEV, "in sync"),
        (LIVE, "proposed"),
        (LIVE, "healed"),
    ]
    assert entries[-1]["approver"] == f"{REVIEWER[0]} <{REVIEWER[1]}>"
    assert entries[-1]["review"]["merge"] == merged
    metrics = pipe.cli("metrics", "--stage", DEV).result["metrics"]
    assert (metrics["reconciles"], metrics["driftEvents"], metrics["driftHealed"]) == (3, 1, 0), (
        metrics
    )
    verified = pipe.cli("ledger", "verify")
    assert verified.code == 0, verified.describe()
