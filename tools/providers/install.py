"""Install our own random and tls providers as the engine's `random` and `tls` plugins.

Each gets a small executable (`pulumi-resource-NAME`) that runs its module with a Python that has
the pinned SDKs, `cryptography` and `bcrypt` (tools/providers/requirements.txt), and is installed
with `pulumi plugin install resource NAME VERSION --file EXE --reinstall` at the version the SDK
pins (its `pulumi-plugin.json`), so a program using pulumi-random / pulumi-tls finds it, beside
whatever other plugins (the real docker provider, stand-ins) the same PULUMI_HOME holds.

    python tools/providers/install.py PULUMI_HOME [--pulumi PATH] [--dir DIR]

Exit codes: 0 installed; 2 no usable `pulumi`, or an install the CLI refused (one line on stderr).
`install_into(sandbox)` does the same for a tools/standin Sandbox (replacing its stand-ins).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tools.providers.wire import plugin_version  # noqa: E402


@dataclass(frozen=True)
class Plugin:
    """One of our providers: the plugin name, the SDK that pins its version, its module."""

    name: str
    sdk: str
    module: Path


PLUGINS = (
    Plugin("random", "pulumi_random", HERE / "random_provider.py"),
    Plugin("tls", "pulumi_tls", HERE / "tls_provider.py"),
)


class InstallError(RuntimeError):
    """The CLI refused an install; the message is its one-line reason."""


def install(
    pulumi: Path, env: Mapping[str, str], where: Path, python: Path | None = None
) -> list[tuple[str, str]]:
    """Write the executables into `where` and install them; (name, version) of each."""
    python = python or Path(sys.executable)
    where.mkdir(parents=True, exist_ok=True)
    installed = []
    for plugin in PLUGINS:
        version = plugin_version(plugin.sdk)
        exe = where / f"pulumi-resource-{plugin.name}"
        exe.write_text(f'#!/bin/sh\nexec "{python}" "{plugin.module}" "$@"\n')
        exe.chmod(0o755)
        args = [str(pulumi), "plugin", "install", "resource", plugin.name, version]
        out = subprocess.run(
            [*args, "--file", str(exe), "--reinstall", "--non-interactive"],
            env=dict(env),
            capture_output=True,
            text=True,
        )
        if out.returncode != 0:
            reason = (out.stderr.strip() or out.stdout.strip()).splitlines()[-1:] or ["no output"]
            raise InstallError(f"pulumi plugin install {plugin.name} {version}: {reason[0]}")
        installed.append((plugin.name, version))
    return installed


def install_into(sandbox: Any) -> list[tuple[str, str]]:
    """Install into a tools/standin Sandbox's PULUMI_HOME, replacing its random/tls stand-ins."""
    venv_python = ROOT / ".venv" / "bin" / "python"
    return install(
        sandbox.bin / "pulumi",
        sandbox.env,
        sandbox.home.parent / "real-providers",
        venv_python if venv_python.exists() else None,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("home", type=Path, help="the PULUMI_HOME to install into")
    parser.add_argument("--pulumi", type=Path, help="the pulumi CLI (default: the one on PATH)")
    parser.add_argument(
        "--dir", type=Path, help="where to write the executables (default: HOME/our-providers)"
    )
    args = parser.parse_args(argv)
    pulumi = args.pulumi or (Path(found) if (found := shutil.which("pulumi")) else None)
    if pulumi is None or not pulumi.exists():
        print("install.py: no pulumi CLI: pass --pulumi PATH or put it on PATH", file=sys.stderr)
        return 2
    home = args.home.resolve()
    env = {**os.environ, "PULUMI_HOME": str(home), "PULUMI_SKIP_UPDATE_CHECK": "true"}
    try:
        for name, version in install(pulumi, env, args.dir or home / "our-providers"):
            print(f"installed resource plugin {name} {version} into {home}")
    except InstallError as exc:
        print(f"install.py: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
