"""``public: false`` is honoured on every substrate: the service runs, but nothing publishes it."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

from components.docker.services import caddyfile
from pipeline.stages import load_stages
from tests.conftest import by_type, edit_stack, render


def _private_web(config: dict[str, Any]) -> None:
    services = config.setdefault("stageline:shape", {}).setdefault("services", {})
    services.setdefault("web", {})["public"] = False  # laid over the blueprint's web


def test_a_private_service_is_published_nowhere(stacks_copy: Path) -> None:
    for stack in ("dev", "azure-dev", "local"):
        edit_stack(stacks_copy, stack, _private_web)
    stages = render(stacks_copy, "dev", "azure-dev", "local")
    for stack, stage in stages.items():
        assert stage.error is None, f"{stack}: {stage.error}"
        assert set(stage.outputs["serviceUrls"]) == {"api"}, (stack, stage.outputs["serviceUrls"])

    aws = stages["dev"]
    assert [r["name"] for r in by_type(aws, "aws:lb/listenerRule:ListenerRule")] == [
        "dev-services-api-route"
    ]
    azure = {r["name"]: r for r in by_type(stages["azure-dev"], "azure-native:app:ContainerApp")}
    ingress = {
        n.rsplit("-", 1)[1]: a["inputs"]["configuration"]["ingress"] for n, a in azure.items()
    }
    assert ingress["web"]["external"] is False and ingress["api"]["external"] is True, ingress

    # The proxy's Caddyfile is uploaded with the TLS key, so the render masks it: read it from
    # the function that writes it, for the same spec.
    spec = load_stages(stacks_copy, ["local"]).specs["local"]
    config = caddyfile(SimpleNamespace(spec=spec))  # type: ignore[arg-type]
    assert "api." in config and "web." not in config, config
