"""An isolated place to run the real Pulumi engine against this project, with stand-in providers.

`Sandbox.create(repo, tmp)` copies the project (without .git and .venv; the repository's ready
`.venv` is linked, so the program runs with the pinned SDKs), makes a `file://` backend and a
private `PULUMI_HOME`, and installs one stand-in plugin per provider package the virtualenv holds
(read from each package's `pulumi-plugin.json`, at exactly that version) with
`pulumi plugin install resource NAME VERSION --file`. Ambient plugins, plugin downloads and
registry look-ups are off, so nothing is fetched: a missing plugin is an error, as on an
air-gapped runner.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

STANDIN = Path(__file__).resolve().with_name("provider.py")
ENGINE_BUILD = Path(__file__).resolve().parents[1] / "engine" / "build.sh"
PASSPHRASE = "engine-lane-passphrase"
# Oldest CLI the pinned Python SDK's Automation API accepts is far older; the lane wants the
# engine it was written against or newer.
MIN_VERSION = (3, 272, 0)


class EngineUnavailableError(RuntimeError):
    """No engine here: no Go to build it and no compatible `pulumi` on PATH."""


def _version(pulumi: Path) -> tuple[int, ...]:
    out = subprocess.run([str(pulumi), "version"], capture_output=True, text=True, check=True)
    return tuple(int(x) for x in out.stdout.strip().lstrip("v").split("-")[0].split("."))


def engine_bin() -> Path:
    """The directory holding `pulumi` and `pulumi-language-python`.

    STAGELINE_ENGINE_BIN if set; else the cached source build (built now when Go is here);
    else a user's own `pulumi` on PATH of a compatible version.
    """
    if os.environ.get("STAGELINE_ENGINE_BIN"):
        return Path(os.environ["STAGELINE_ENGINE_BIN"])
    if shutil.which("go"):
        out = subprocess.run([str(ENGINE_BUILD)], capture_output=True, text=True)
        if out.returncode == 0:
            return Path(out.stdout.strip().splitlines()[-1])
        raise EngineUnavailableError(f"building the engine failed: {out.stderr.strip()[-2000:]}")
    found = shutil.which("pulumi")
    if found and _version(Path(found)) >= MIN_VERSION:
        return Path(found).parent
    raise EngineUnavailableError(
        "no Go toolchain to build the Pulumi CLI from source and no pulumi >= "
        + ".".join(map(str, MIN_VERSION))
        + " on PATH"
    )


def plugin_manifests(venv: Path) -> list[tuple[str, str]]:
    """(name, version) of every resource plugin the virtualenv's provider SDKs require."""
    found = []
    for path in sorted(venv.glob("lib/python3*/site-packages/*/pulumi-plugin.json")):
        manifest = json.loads(path.read_text())
        if manifest.get("resource") and manifest.get("name"):
            found.append((manifest["name"], manifest["version"]))
    return found


@dataclass
class Sandbox:
    """A project copy, a file backend and a PULUMI_HOME with stand-in plugins installed."""

    project: Path
    home: Path
    state: Path
    bin: Path
    env: dict[str, str] = field(default_factory=dict)

    @classmethod
    def create(
        cls,
        repo: Path,
        tmp: Path,
        bin_dir: Path | None = None,
        real: dict[str, Path] | None = None,
    ) -> Sandbox:
        """``real`` maps a package to a plugin executable installed in place of its stand-in
        (the docker lane's provider built from source, and our random and tls providers)."""
        bin_dir = bin_dir or engine_bin()
        from pipeline.naming import cache_dir  # the project's root is on sys.path where it runs

        cache_name = cache_dir(repo).parent.name  # .<name>, the render cache's folder
        project = tmp / "project"
        shutil.copytree(
            repo,
            project,
            ignore=shutil.ignore_patterns(".git", ".venv", cache_name, "__pycache__", "*_cache"),
            symlinks=True,
        )
        (project / ".venv").symlink_to((repo / ".venv").resolve())
        home, state = tmp / "pulumi-home", tmp / "state"
        home.mkdir()
        state.mkdir()
        env = {
            **os.environ,
            "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
            "PULUMI_HOME": str(home),
            "PULUMI_BACKEND_URL": state.as_uri(),
            "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE,
            "PULUMI_IGNORE_AMBIENT_PLUGINS": "true",
            "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
            "PULUMI_DISABLE_REGISTRY_RESOLVE": "true",
            "PULUMI_SKIP_UPDATE_CHECK": "true",
            "PULUMI_SKIP_CONFIRMATIONS": "true",
            "PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK": "false",
            "NO_COLOR": "1",
        }
        sandbox = cls(project, home, state, bin_dir, env)
        sandbox.install_standins(tmp / "plugins", repo / ".venv", real or {})
        return sandbox

    def install_standins(self, where: Path, venv: Path, real: dict[str, Path]) -> None:
        where.mkdir()
        for name, version in plugin_manifests(venv):
            exe = real.get(name)
            if exe is None:
                exe = where / f"pulumi-resource-{name}"
                exe.write_text(
                    f'#!/bin/sh\nexec "{venv.resolve()}/bin/python" "{STANDIN}" {name} {version}'
                    ' "$@"\n'
                )
                exe.chmod(0o755)
            self.pulumi("plugin", "install", "resource", name, version, "--file", str(exe))

    def pulumi(
        self, *args: str, check: bool = True, stack: str | None = None, timeout: float = 600
    ) -> subprocess.CompletedProcess[str]:
        """Run the engine's CLI in the project copy."""
        cmd = [str(self.bin / "pulumi"), *args, "--non-interactive"]
        if stack:
            cmd += ["--stack", stack]
        out = subprocess.run(
            cmd, cwd=self.project, env=self.env, capture_output=True, text=True, timeout=timeout
        )
        self.restore_secrets_providers()
        if check and out.returncode != 0:
            raise AssertionError(
                f"pulumi {' '.join(args)} exited {out.returncode}\n{out.stdout[-4000:]}\n"
                f"{out.stderr[-4000:]}"
            )
        return out

    def commit_all(self, message: str) -> str:
        """Make the project copy a git repository with everything committed; its HEAD."""
        git = ["git", "-c", "user.name=engine-lane", "-c", "user.email=lane@example.com"]
        if not (self.project / ".git").exists():
            subprocess.run([*git, "init", "-q", "-b", "main"], cwd=self.project, check=True)
        subprocess.run([*git, "add", "-A"], cwd=self.project, check=True)
        subprocess.run([*git, "commit", "-qm", message], cwd=self.project, check=True)
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=self.project, capture_output=True, text=True
        )
        return out.stdout.strip()

    def init(self, stack: str) -> None:
        self.pulumi("stack", "init", stack, "--secrets-provider", "passphrase")

    def restore_secrets_providers(self) -> None:
        """The CLI drops `secretsprovider:` from a passphrase stack's file whenever it writes it
        (stack init, config set); `plan` refuses a cloud stage's file without one, so put it back
        as docs/secrets.md tells a person to. The sandbox's stacks are passphrase stacks."""
        for path in sorted((self.project / "stacks").glob("Pulumi.*.yaml")):
            text = path.read_text()
            lines = text.splitlines()
            passphrase = any(line.startswith("encryptionsalt:") for line in lines)
            if passphrase and not any(line.startswith("secretsprovider:") for line in lines):
                path.write_text(f"secretsprovider: passphrase\n{text}")


if __name__ == "__main__":  # a quick manual check: python tools/standin/sandbox.py
    print(engine_bin(), file=sys.stderr)
