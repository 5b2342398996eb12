"""The names the pipeline gives what it leaves on the machine, all from ``Pulumi.yaml``'s ``name``:
the render cache ``.<name>/cache``, a clone's scratch space ``<git dir>/<name>`` and temporary
directories ``<name>-<what>-...``. Renaming the project renames them; the same name keeps
finding what it cached.

Standard library only: ``pipeline.early`` and ``pipeline.headstart`` read the cache's place
before anything else is imported.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
# A top-level ``name:`` holding one plain or quoted word. Pulumi's project names are letters,
# digits, '-', '_' and '.' (pkg/workspace ValidateProjectName), so this is the usual file.
_SIMPLE_NAME = re.compile(r"""^name:[ \t]*(["']?)([A-Za-z0-9_.-]+)\1[ \t]*(?:#.*)?$""", re.M)


@cache
def _name_in(project_dir: Path) -> str:
    try:
        text = (project_dir / "Pulumi.yaml").read_text(encoding="utf-8")
    except OSError:
        text = ""
    match = _SIMPLE_NAME.search(text)
    if match:
        return match.group(2)
    # Anything else (or a missing file) goes to the YAML reader, which also reports the errors.
    from components import project

    return project.name(project_dir)


def project_name(project_dir: Path | str | None = None) -> str:
    """``Pulumi.yaml``'s ``name`` in ``project_dir`` (default: this checkout).

    The same value as ``components.project.name``; a one-line ``name:`` is read without a YAML
    parser, whose import and load cost a cold start about 60 ms before the early starters.
    """
    return _name_in(Path(project_dir).resolve() if project_dir is not None else PROJECT_DIR)


def cache_dir(project_dir: Path | str | None = None) -> Path:
    """The render cache's default place: ``<project>/.<name>/cache``."""
    root = Path(project_dir) if project_dir is not None else PROJECT_DIR
    return root / f".{project_name(root)}" / "cache"


def cache_hint() -> str:
    """The cache's place as help texts write it: ``.<name>/cache``."""
    return f".{project_name()}/cache"


def scratch_dir(git_dir: Path) -> Path:
    """This clone's own files under its git directory (never pushed): ``<git dir>/<name>``."""
    return git_dir / project_name()


def temp_prefix(what: str) -> str:
    """A temporary directory's prefix that says whose it is: ``<name>-<what>-``."""
    return f"{project_name()}-{what}-"


def tool_identity() -> tuple[str, str]:
    """Who writes the commits the pipeline makes on its own: ``<name> <<name>@localhost>``."""
    name = project_name()
    return name, f"{name}@localhost"
