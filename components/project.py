"""The project's name, read once from ``Pulumi.yaml``: the config namespace, the URNs' project
and the type tokens' package all come from here, so renaming the project is a one-line edit."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
"""The project directory: the one holding ``Pulumi.yaml`` and this package."""


class ProjectError(Exception):
    """``Pulumi.yaml`` is missing or has no usable ``name``."""


@cache
def _name_in(project_dir: Path) -> str:
    path = project_dir / "Pulumi.yaml"
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ProjectError(f"{path}: cannot read the project file ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise ProjectError(f"{path}: not valid YAML ({exc})") from None
    name = data.get("name") if isinstance(data, dict) else None
    if not isinstance(name, str) or not name:
        raise ProjectError(f"{path}: name: required, a non-empty string")
    return name


def name(project_dir: Path | str | None = None) -> str:
    """The ``name`` in ``Pulumi.yaml`` of ``project_dir`` (default: this checkout)."""
    return _name_in(Path(project_dir).resolve() if project_dir is not None else ROOT)


def key(short: str, project_dir: Path | str | None = None) -> str:
    """A config key in the project's namespace: ``key("stage")`` -> ``<project>:stage``."""
    return f"{name(project_dir)}:{short}"


def physical(*parts: str) -> str:
    """A physical name that starts with the project's name: ``physical("dev", "api")``."""
    return "-".join([name(), *parts])


def database_user() -> str:
    """The database's admin user, derived from the project's name.

    RDS master user names are 1 to 16 letters, digits or underscores starting with a letter
    (the strictest of the engines' rules in the RDS CreateDBInstance reference); a PostgreSQL
    identifier takes the same characters, so one name serves AWS, Azure and Docker.
    """
    cleaned = "".join(c if c.isalnum() else "_" for c in name().lower() if c.isascii())
    if not cleaned[:1].isalpha():
        cleaned = f"u{cleaned}"
    return cleaned[:16]
