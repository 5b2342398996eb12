"""The projects the benchmarks generate are valid input: a benchmark that stops at the loader
measures nothing (``make bench`` once reported 'plan exited 2' for the services rows)."""

from __future__ import annotations

from pathlib import Path

from bench.render import _services_project
from components.spec.blueprint import load_blueprint


def test_the_services_project_loads_with_every_service(tmp_path: Path) -> None:
    project = _services_project(3, tmp_path)
    shape = load_blueprint(project)
    assert sorted(shape.services) == ["svc00", "svc01", "svc02"]
