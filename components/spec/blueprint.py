"""The blueprint file: the shape every stage shares, declared once at the project root.

``blueprint.yaml`` holds the services (port, health path, public), the database (engine, major
version, port, name), the network layout, TLS, encryption and logging. It is validated by the
``Shape`` model; errors name the file and the key (``blueprint.yaml: services.api.port: ...``).
Stack files keep identity and scale; a stack's ``<project>:shape`` override is merged on top and
reported by the parity check as a difference.

Why a file of its own and not project config in ``Pulumi.yaml``: Pulumi merges project config
into every stack's config, where a stack file may override it key by key without a trace, and
the CLI types project config only as string, integer, boolean or array. The shape is one nested
document with its own schema, read by the offline tools and the policy config check alike; its
name says what it is, so renaming the project renames nothing here.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from components import project
from components.spec.model import Shape

BLUEPRINT_FILE = "blueprint.yaml"
SCHEMA_FILE = "blueprint.schema.json"


def blueprint_path(project_dir: Path | str | None = None) -> Path:
    return Path(project_dir).resolve() if project_dir is not None else project.ROOT


@cache
def _load(directory: Path) -> Shape:
    from components.spec.bounded import read_yaml
    from components.spec.loader import Problem, SpecError, describe

    path = directory / BLUEPRINT_FILE
    data = read_yaml(path, "(file)", BLUEPRINT_FILE)
    if not isinstance(data, dict):
        raise SpecError(BLUEPRINT_FILE, [Problem("(file)", "expected a mapping of shape keys")])
    try:
        return Shape.model_validate(data)
    except ValidationError as exc:
        raise SpecError(
            BLUEPRINT_FILE,
            [
                Problem(".".join(str(p) for p in e["loc"]) or "(file)", describe(e))
                for e in exc.errors()
            ],
        ) from None


def load_blueprint(project_dir: Path | str | None = None) -> Shape:
    """The project's shape from ``blueprint.yaml``, or SpecError naming the file and key."""
    return _load(blueprint_path(project_dir))


def shape_data(project_dir: Path | str | None = None) -> dict[str, Any]:
    """The blueprint as camelCase data, the base a stack's shape override merges onto."""
    return load_blueprint(project_dir).model_dump(by_alias=True, mode="json")


def merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """``override`` laid over ``base`` key by key (mappings merge, everything else replaces)."""
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def render_blueprint_schema() -> str:
    """JSON Schema of ``blueprint.yaml`` for editors (the Shape model, camelCase keys)."""
    import json

    schema = Shape.model_json_schema(by_alias=True)
    schema["title"] = f"{project.name()} blueprint"
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"
