"""Entry point: ``python -m pipeline``, and the console script ``.venv/bin/<name>`` that
``pyproject.toml`` declares (``run``).

Only the standard library is imported before the dependencies are known to be there: run by a
Python without them (outside ``.venv``), the command says in one line how to get them instead of
ending in a ``ModuleNotFoundError`` traceback.
"""

import importlib.util
import os
import sys
from pathlib import Path

from pipeline.usage import command_name

PROJECT_DIR = Path(__file__).resolve().parent.parent
# Import names of requirements.txt's packages that every command needs (PyYAML, pydantic, rich,
# ruamel.yaml, pulumi); their absence means this Python is not the project's environment.
REQUIRED = ("yaml", "pydantic", "rich", "ruamel", "pulumi")
EXIT_NO_ENVIRONMENT = 2
RETARGETED = "PIPELINE_CHECKOUT"  # set once the console script has moved to the cwd's checkout


def checkout_of(directory: Path) -> Path | None:
    """The checkout ``directory`` is in: the nearest one holding Pulumi.yaml and this CLI."""
    for candidate in (directory, *directory.parents):
        if (candidate / "Pulumi.yaml").is_file() and (candidate / "pipeline" / "cli.py").is_file():
            return candidate
    return None


def _missing() -> str | None:
    return next((m for m in REQUIRED if importlib.util.find_spec(m) is None), None)


def _no_environment(module: str) -> int:
    print(
        f"{command_name()}: {sys.executable} has no {module!r} (not the project's environment);"
        f" run `make plan` in {checkout_of(Path.cwd()) or PROJECT_DIR} to create .venv,"
        f" then run .venv/bin/{command_name()} with the same arguments",
        file=sys.stderr,
    )
    return EXIT_NO_ENVIRONMENT


def _retarget() -> None:
    """The console script acts on the checkout it is run in, as ``python -m pipeline`` does
    there: a worktree of a stage's branch that shares another checkout's .venv renders with its
    own code, not the code the environment was installed from."""
    here = checkout_of(Path.cwd())
    if here is None or here == PROJECT_DIR or os.environ.get(RETARGETED):
        return
    path = os.pathsep.join(p for p in (str(here), os.environ.get("PYTHONPATH", "")) if p)
    env = {**os.environ, "PYTHONPATH": path, RETARGETED: str(here)}
    os.execve(sys.executable, [sys.executable, "-m", "pipeline", *sys.argv[1:]], env)


def console() -> int:
    """The console script: the CLI of the checkout it is run in (see ``_retarget``)."""
    missing = _missing()
    if missing is not None:
        return _no_environment(missing)
    _retarget()
    return run()


def run() -> int:
    """The CLI: ``main()`` once the dependencies are known to be there; 130 on a Ctrl-C while
    it loads."""
    missing = _missing()
    if missing is not None:
        return _no_environment(missing)
    try:
        # Importing the CLI takes a while on a loaded machine: a Ctrl-C that lands there ends
        # with the same one line as one that lands mid-command. What the command will run in
        # other processes starts first, while the CLI loads: a plan that will render starts its
        # fork server (the SDK imports), a diff of the working tree starts that render.
        from pipeline import early, headstart

        if not early.start_for(sys.argv[1:]):
            headstart.start_for(sys.argv[1:])
        from pipeline.cli import main
    except KeyboardInterrupt:
        command = next((w for w in sys.argv[1:] if not w.startswith("-")), "pipeline")
        print(f"{command}: interrupted", file=sys.stderr)
        return 130
    except ModuleNotFoundError as exc:  # a dependency that is not among REQUIRED
        top = (exc.name or "").split(".")[0]
        if top in ("pipeline", "components") or not top:
            raise
        return _no_environment(top)
    except Exception as exc:  # only Pulumi.yaml's error is expected: it names everything
        from components.project import ProjectError
        from pipeline import usage

        if not isinstance(exc, ProjectError):
            raise
        command = next((w for w in sys.argv[1:] if not w.startswith("-")), "pipeline")
        print(f"{command}: {exc}", file=sys.stderr)
        return usage.EXIT_INVALID
    return main()


if __name__ == "__main__":
    sys.exit(run())
