"""``make demo``: the local pipeline on this machine, and a release promoted through it.

    python tools/demo/demo.py up     # four stages up, release 1.0.0 of examples/app promoted
    python tools/demo/demo.py down   # every stage destroyed, the workspace removed

It uses what the docker lane builds (tools/docker/host.sh, tools/images/build.sh,
tools/docker-provider/build.sh, tools/engine/build.sh, tools/providers): a Docker engine and a
registry on 127.0.0.1, images built here, the Pulumi CLI and the docker provider built from
source. The workspace (a project copy that is a clone of a bare git remote, the Pulumi state,
the plugins) lives outside the repository: ``$XDG_CACHE_HOME/<project>/demo``, or
``STAGELINE_DEMO_DIR``. Exit codes: 0 done; 1 a step failed (it says which); 2 ``up`` with a
demo already up, or a bad argument.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from components import project  # noqa: E402
from tools.demo.local_pipeline import STAGES, LocalPipeline  # noqa: E402

HOST = ROOT / "tools" / "docker" / "host.sh"
APP = "app"  # examples/app 1.0.0, as tools/images/build.sh builds it
EXIT_FAILED, EXIT_USAGE = 1, 2


class DemoError(Exception):
    """A step failed; the message says which and what it printed."""


def say(message: str) -> None:
    print(f"demo: {message}", flush=True)


def workspace() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return Path(os.environ.get("STAGELINE_DEMO_DIR", base / project.name() / "demo"))


def run(
    cmd: list[str], what: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> str:
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=cwd)
    if out.returncode != 0:
        raise DemoError(f"{what} failed (exit {out.returncode}):\n{out.stderr.strip()[-2000:]}")
    return out.stdout


def docker_env() -> dict[str, str]:
    """Start (or find) the Docker engine and the registry; the environment that reaches them."""
    run([str(HOST), "start"], "tools/docker/host.sh start")
    env = dict(os.environ)
    for line in run([str(HOST), "env"], "tools/docker/host.sh env").splitlines():
        key, sep, value = line.strip().removeprefix("export ").partition("=")
        if sep:
            env[key] = value.strip("'\"")
    return env


@dataclass
class Sandbox:
    """The demo's Pulumi: a project copy, the CLI's directory, and the environment (PULUMI_HOME
    with the plugins, a file backend, the passphrase) that tools/standin's Sandbox made."""

    project: Path
    bin: Path
    env: dict[str, str]

    def init(self, stack: str) -> None:
        cmd = [str(self.bin / "pulumi"), "stack", "init", stack, "--secrets-provider", "passphrase"]
        # In the project copy: init writes the passphrase salt into its stack file.
        run([*cmd, "--non-interactive"], f"pulumi stack init {stack}", self.env, self.project)


@dataclass
class Machine:
    sandbox: Sandbox
    env: dict[str, str]
    images: dict[str, str]


def build(where: Path) -> Machine:
    """Everything the docker lane builds (cached), and a fresh sandbox in ``where``."""
    from tools.providers.install import install_into
    from tools.standin.sandbox import EngineUnavailableError, engine_bin
    from tools.standin.sandbox import Sandbox as Standin

    started = time.monotonic()
    say("[1/5] the Docker engine and the local registry (tools/docker/host.sh)")
    env = docker_env()
    say("[2/5] the Pulumi CLI, the docker provider and the images, built here (cached; a cold")
    say("      machine takes about 20 minutes, README: Set-up) ...")
    try:
        engine = engine_bin()
    except EngineUnavailableError as exc:
        raise DemoError(f"the Pulumi CLI: {exc}") from None
    provider = run([str(ROOT / "tools" / "docker-provider" / "build.sh")], "the docker provider")
    images = json.loads(run([str(ROOT / "tools" / "images" / "build.sh")], "the images", env))
    real = {"docker": Path(provider.strip().splitlines()[-1]) / "pulumi-resource-docker"}
    standin = Standin.create(ROOT, where, engine, real=real)
    install_into(standin)
    docker = {k: v for k, v in env.items() if k.startswith("DOCKER")}
    sandbox = Sandbox(standin.project, standin.bin, {**standin.env, **docker})
    say(f"      ready in {time.monotonic() - started:.0f} s")
    return Machine(sandbox, env, images)


def save(where: Path, machine: Machine) -> None:
    """What ``down`` needs to find the stages again."""
    keep = {k: v for k, v in machine.sandbox.env.items() if k.startswith(("PULUMI", "DOCKER"))}
    state = {"bin": str(machine.sandbox.bin), "env": keep, "images": machine.images}
    (where / "demo.json").write_text(json.dumps(state, indent=1))


def load(where: Path) -> LocalPipeline:
    state = json.loads((where / "demo.json").read_text())
    env = {**os.environ, **state["env"], "PATH": f"{state['bin']}{os.pathsep}{os.environ['PATH']}"}
    sandbox = Sandbox(where / "project", Path(state["bin"]), env)
    return LocalPipeline(Machine(sandbox, env, state["images"]), where / "remote.git")


def lane_lock() -> IO[str]:
    """The docker lane's machine-wide lock (tools/lanes/docker.sh), held while the demo comes
    up: both deploy the same four stages' networks and ports on the one engine."""
    path = Path(os.environ.get("TMPDIR", "/tmp")) / f"{project.name()}-docker-lane.lock"
    handle = path.open("a")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        say("the docker lane runs on this machine (the same networks and ports); waiting for it")
        fcntl.flock(handle, fcntl.LOCK_EX)
    return handle


def up() -> int:
    with lane_lock():
        return _up()


def _up() -> int:
    where = workspace()
    if (where / "demo.json").exists():
        say(f"a demo is already up in {where}; `make demo-down` removes it first")
        return EXIT_USAGE
    shutil.rmtree(where, ignore_errors=True)  # a half-made one from an interrupted run
    where.mkdir(parents=True)
    machine = build(where)
    save(where, machine)
    say(f"[3/5] the project in {where}/project, a clone of the bare remote {where}/remote.git")
    pipeline = LocalPipeline.create(machine, where)
    say("[4/5] the four stages, each a bare `pulumi up` of its stack file (the bootstrap release)")
    for stack in STAGES:
        out = pipeline.up(stack)
        if out.returncode != 0:
            raise DemoError(f"pulumi up {stack} failed:\n{out.stderr.strip()[-2000:]}")
        say(f"      {stack}: up in {pipeline.timings[f'up {stack}']:.0f} s")
    release = pipeline.release(APP)
    say(f"[5/5] release {release} (examples/app 1.0.0, pinned by digest) through the pipeline;")
    say("      the promotion's own progress follows")
    promote(pipeline, release, "local-staging")
    soak(pipeline)
    user = os.environ.get("USER") or "someone"
    promote(pipeline, release, "local-live", "--approve", "--approver", f"{user} (make demo)")
    summary(pipeline, where)
    return 0


def promote(pipeline: LocalPipeline, release: str, to: str, *more: str) -> None:
    cmd = pipeline.command("promote", release, "--to", to, "--health-timeout", "180", *more)
    done = subprocess.run(cmd, cwd=pipeline.project, env=pipeline.env)
    if done.returncode != 0:
        raise DemoError(f"promote {release} --to {to} exited {done.returncode} (output above)")


def soak(pipeline: LocalPipeline) -> None:
    stage = next(s for s in pipeline_file(pipeline) if s.get("soakMinutes"))
    minutes = int(stage["soakMinutes"])
    say(f"      {stage['stack']} soaks a release {minutes} min before live; waiting it out")
    time.sleep(60 * minutes + 5)
    say("      live needs an approval: the demo gives it as you (--approve --approver)")


def pipeline_file(pipeline: LocalPipeline) -> list[dict[str, Any]]:
    import yaml

    doc = yaml.safe_load((pipeline.project / "stacks" / "pipeline.yaml").read_text())
    return list(doc["pipelines"]["docker"]["stages"])


def summary(pipeline: LocalPipeline, where: Path) -> None:
    cas = where / "ca"
    cas.mkdir(exist_ok=True)
    print("\nThe local pipeline runs on this machine:\n")
    for stack in STAGES:
        outputs = pipeline.outputs(stack)
        ca = cas / f"{stack}.pem"
        ca.write_text(outputs["caCertificate"])
        print(f"  {stack:<14} release {outputs['release']}")
        for service, url in sorted(outputs["serviceUrls"].items()):
            print(f"    {service:<4} {url}{outputs['healthPaths'][service]}")
    first = pipeline.outputs(STAGES[0])
    url = first["serviceUrls"]["api"] + first["healthPaths"]["api"]
    host, port = url.removeprefix("https://").split("/")[0].split(":")
    print(
        "\nOpen one (each stage's proxy presents a certificate of the stage's own CA, saved in"
        f" {cas}):\n"
        f"  curl --cacert {cas}/{STAGES[0]}.pem --resolve {host}:{port}:127.0.0.1 {url}\n"
        "In a browser: *.localhost names reach this machine; import the CA file to trust it (or"
        " accept the warning).\n"
        "What each stage runs, from git (the remote's stages/<stack> branches):\n"
        f"  cd {pipeline.project} && .venv/bin/python -m pipeline status --pipeline docker"
        " --offline\n"
        "Tear it all down: make demo-down"
    )


def down() -> int:
    where = workspace()
    if not (where / "demo.json").exists():
        say(f"no demo in {where}")
    else:
        pipeline = load(where)
        say("destroying the four stages (and what live's deletion protection keeps)")
        left = pipeline.teardown()
        if left:
            raise DemoError("not removed: " + "; ".join(left))
    shutil.rmtree(where, ignore_errors=True)
    # The engine may serve others (the lanes, another checkout): it stays up.
    say(f"removed {where}; `tools/docker/host.sh stop` stops the engine if host.sh started it")
    return 0


def main(argv: list[str]) -> int:
    if argv not in (["up"], ["down"]):
        print("usage: python tools/demo/demo.py up|down", file=sys.stderr)
        return EXIT_USAGE
    try:
        return up() if argv == ["up"] else down()
    except (DemoError, RuntimeError) as exc:
        print(f"demo: {exc}", file=sys.stderr)
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
