"""Render each substrate's stage as shipped and with one shape field flipped at a time, for the
conformance test (tests/test_substrates.py). Run as ``python -m tests.substrates.flips OUT``
with ``FLIP_STACKS`` (substrate -> stack file) and the substrate registry in the environment;
writes {substrate: {"baseline" | field: graph as JSON text, or null if refused at load}}."""

from __future__ import annotations

import json
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

from components import project
from components.spec import SpecError, StackConfig, read_stack
from pipeline.render import render_stages

PROJECT_DIR = Path(__file__).resolve().parents[2]

# Each shape field, flipped from the blueprint's value: (path in the shape, new value).
FLIPS: dict[str, object] = {
    "encryption.atRest": False,
    "encryption.inTransit": False,
    "logging.flowLogs": False,
    "logging.accessLogs": False,
    "tls.minVersion": "1.3",
    "network.azCount": 3,
    "network.subnetBits": 5,
    "database.port": 5433,
    "database.name": "core",
    "services.api.port": 9090,
    "services.api.healthPath": "/live",
    "services.api.public": False,
    "services.api.cpuArchitecture": "X86_64",
    "services.api.uses": ["database"],
}


def _merge(into: dict, path: str, value: object) -> None:
    head, _, rest = path.partition(".")
    if rest:
        _merge(into.setdefault(head, {}), rest, value)
    else:
        into[head] = value


def _render(config: StackConfig) -> str | None:
    try:
        config.spec()
    except SpecError:
        return None
    render = render_stages(PROJECT_DIR, [config])[config.stack]
    if render.error:
        raise RuntimeError(f"{config.stack}: {render.error}")
    # Registration order varies between runs (the program is asynchronous): compare by URN.
    resources = sorted(render.resources, key=lambda r: str(r["urn"]))
    return json.dumps([resources, render.outputs], sort_keys=True, default=str)


def main(out: Path) -> None:
    stacks: dict[str, str] = json.loads(os.environ["FLIP_STACKS"])
    key = project.key("shape")
    jobs: dict[tuple[str, str], StackConfig] = {}
    for substrate, file in stacks.items():
        path = Path(file)
        config = read_stack(path.parent, path.name.removeprefix("Pulumi.").removesuffix(".yaml"))
        jobs[(substrate, "baseline")] = config
        for field, value in FLIPS.items():
            shape = json.loads(config.values.get(key, "{}"))
            _merge(shape, field, value)
            jobs[(substrate, field)] = replace(
                config, values={**config.values, key: json.dumps(shape)}
            )
    with ThreadPoolExecutor(os.cpu_count() or 1) as pool:
        futures = {job: pool.submit(_render, config) for job, config in jobs.items()}
        results: dict[str, dict[str, str | None]] = {}
        for (substrate, field), future in futures.items():
            results.setdefault(substrate, {})[field] = future.result()
    out.write_text(json.dumps(results))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
