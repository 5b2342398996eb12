"""The Docker substrate under Pulumi's mock runtime, from the real local stack file (and copies
of it for a second stage on the same host, app secrets, and shapes Docker cannot honour)."""

from __future__ import annotations

import ipaddress
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.docker import images
from components.docker.context import DockerContext
from components.docker.services import caddyfile
from components.spec.bounded import dump_yaml
from pipeline.parity import compare_shapes
from pipeline.render import SECRET, StageRender
from pipeline.stages import StagesError, load_stages
from tests.conftest import PROJECT_DIR, STACKS_DIR, by_type, edit_stack, render

CONTAINER = "docker:index/container:Container"
IMAGE = "docker:index/remoteImage:RemoteImage"
NETWORK = "docker:index/network:Network"
VOLUME = "docker:index/volume:Volume"
DIGEST_REF = re.compile(r"^[a-z0-9./:_-]+@sha256:[0-9a-f]{64}$")
ROLES = ("Network", "Keys", "Logs", "Registry", "Database", "Storage", "Services")


def add_local_stack(stacks_dir: Path, stack: str, change: Any = None) -> None:
    """Copy Pulumi.local.yaml to a new local stack (listed in pipeline.yaml) and edit it."""
    shutil.copy(stacks_dir / "Pulumi.local.yaml", stacks_dir / f"Pulumi.{stack}.yaml")
    pipeline = stacks_dir / "pipeline.yaml"
    doc = yaml.safe_load(pipeline.read_text())
    doc["local"].append({**doc["local"][0], "stack": stack})
    pipeline.write_text(dump_yaml(doc))
    if change is not None:
        edit_stack(stacks_dir, stack, change)


@pytest.fixture(scope="module")
def stacks(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("docker")
    shutil.copy(PROJECT_DIR / "Pulumi.yaml", root / "Pulumi.yaml")
    target = root / "stacks"
    shutil.copytree(STACKS_DIR, target)
    # A second stage on the same host: only its name and CIDR differ.
    add_local_stack(target, "local-b", lambda c: c.update({"stageline:cidr": "10.91.0.0/16"}))
    add_local_stack(
        target,
        "local-secrets",
        # Its own range: two Docker stacks on one host never overlap (pipeline.stages).
        lambda c: c.update(
            {
                "stageline:cidr": "10.92.0.0/16",
                "stageline:secrets": {"token": {"secure": "v1:c2VjcmV0"}},
            }
        ),
    )
    return target


@pytest.fixture(scope="module")
def rendered(stacks: Path) -> dict[str, StageRender]:
    result = render(stacks, "local", "local-b", "local-secrets")
    for stack, stage in result.items():
        assert stage.error is None, f"{stack}: {stage.error}"
    return result


@pytest.fixture(scope="module")
def local(rendered: dict[str, StageRender]) -> StageRender:
    return rendered["local"]


def named(render: StageRender, type_token: str, suffix: str) -> dict[str, Any]:
    found = [r for r in by_type(render, type_token) if r["name"].endswith(suffix)]
    assert len(found) == 1, f"expected one {type_token} *{suffix}: {[r['urn'] for r in found]}"
    return found[0]


def envs(container: dict[str, Any]) -> dict[str, str]:
    return dict(e.split("=", 1) for e in container["inputs"].get("envs", []))


def test_roles_are_docker_components_parented_to_the_environment(local: StageRender) -> None:
    components = {r["type"]: r for r in local.resources if not r["custom"]}
    assert set(components) == {f"stageline:docker:{role}" for role in ("Environment", *ROLES)}
    environment = components["stageline:docker:Environment"]
    for role in ROLES:
        component = components[f"stageline:docker:{role}"]
        assert component["parent"] == environment["urn"], component["urn"]
    for resource in local.resources:
        assert resource["name"].startswith("local-") or resource["name"] == "local", resource["urn"]


def test_outputs_match_the_role_interface(local: StageRender) -> None:
    out = local.outputs
    assert out["cloud"] == "docker" and out["stage"] == "local"
    assert out["databaseEndpoint"] == "database:5432"
    assert out["bucketName"] == "stageline-local"
    assert out["registryUrl"] == "ghcr.io"
    assert out["healthPaths"] == {"api": "/healthz", "web": "/healthz"}
    port = re.fullmatch(r"https://api\.local\.stageline\.localhost:(\d+)", out["serviceUrl"])
    assert port and int(port[1]) >= 32768, out["serviceUrl"]
    assert out["serviceUrls"]["web"] == f"https://web.local.stageline.localhost:{port[1]}"


def test_every_container_is_unprivileged_without_host_namespaces(local: StageRender) -> None:
    containers = by_type(local, CONTAINER)
    # Six long-running containers and three one-shot file writers (components/docker/files.py).
    assert len(containers) == 9, [c["urn"] for c in containers]
    writers = [c for c in containers if c["name"].endswith("-files-writer")]
    assert len(writers) == 3, [c["urn"] for c in containers]
    for container in containers:
        inputs, urn = container["inputs"], container["urn"]
        assert inputs["privileged"] is False, urn
        # Never host (nor another container's); a writer has no network at all.
        assert inputs.get("networkMode") == ("none" if container in writers else None), urn
        for key in ("pidMode", "ipcMode", "usernsMode", "cgroupnsMode"):
            assert inputs.get(key) in (None, "private"), f"{urn}: {key}"
        assert inputs["securityOpts"] == ["no-new-privileges:true"], urn
        assert inputs["capabilities"]["drops"] == ["ALL"], urn
        assert not inputs.get("volumes") or all("hostPath" not in v for v in inputs["volumes"]), (
            f"{urn} mounts a host path"
        )
        assert inputs["logDriver"] == "json-file", urn
        assert inputs["logOpts"] == {"max-size": "10m", "max-file": "3"}, urn


def test_only_the_proxy_publishes_a_port_and_only_on_loopback(local: StageRender) -> None:
    published = {
        c["name"]: c["inputs"]["ports"]
        for c in by_type(local, CONTAINER)
        if c["inputs"].get("ports")
    }
    assert list(published) == ["local-services-proxy"], published
    (port,) = published["local-services-proxy"]
    assert port["internal"] == 443 and port["ip"] == "127.0.0.1", port
    assert "external" not in port, "a fixed host port would collide with a second stage"
    for container in by_type(local, CONTAINER):
        assert container["inputs"].get("publishAllPorts") in (None, False), container["urn"]


def test_every_image_is_pulled_and_run_by_digest(local: StageRender) -> None:
    for image in by_type(local, IMAGE):
        assert DIGEST_REF.match(image["inputs"]["name"]), image["urn"]
    for container in by_type(local, CONTAINER):
        assert DIGEST_REF.match(container["inputs"]["image"]), container["urn"]
    pulled = {i["inputs"]["name"] for i in by_type(local, IMAGE)}
    assert {images.MINIO, images.MINIO_CLIENT, images.CADDY, images.POSTGRES[16]} <= pulled


def test_database_runs_the_shapes_engine_and_major_version_privately(local: StageRender) -> None:
    image = named(local, IMAGE, "database-image")
    assert image["inputs"]["name"].startswith("postgres:16@sha256:"), image["urn"]
    postgres = named(local, CONTAINER, "database-postgres")
    inputs, urn = postgres["inputs"], postgres["urn"]
    assert inputs["image"].startswith("postgres@sha256:"), urn
    assert "ports" not in inputs, f"{urn} publishes the database port"
    assert inputs["networksAdvanced"][0]["aliases"] == ["database"], urn
    assert "ssl=on" in inputs["command"] and "port=5432" in inputs["command"], urn
    assert inputs["healthcheck"]["tests"][:2] == ["CMD", "pg_isready"], urn
    volume, files = inputs["volumes"]
    assert volume["containerPath"] == "/var/lib/postgresql/data", urn
    assert volume["volumeName"].startswith("local-database-data-"), urn
    # Password, certificate and key come from a volume the writer filled, mounted read-only.
    assert files["containerPath"] == "/run/stageline" and files["readOnly"] is True, urn
    assert files["volumeName"].startswith("local-database-files-"), urn
    assert "uploads" not in inputs, urn
    env = envs(postgres)
    assert "POSTGRES_PASSWORD" not in env, urn
    assert env["POSTGRES_PASSWORD_FILE"] == "/run/stageline/password", urn
    assert "ssl_key_file=/run/stageline/server.key" in inputs["command"], urn


def test_generated_passwords_and_keys_reach_containers_only_as_secret_files(
    rendered: dict[str, StageRender],
) -> None:
    stage = rendered["local-secrets"]
    secret_name = re.compile(r"PASSWORD|SECRET|TOKEN|KEY", re.IGNORECASE)
    for container in by_type(stage, CONTAINER):
        urn = container["urn"]
        for name, value in envs(container).items():
            if secret_name.search(name):
                assert name.endswith("_FILE") and value.startswith("/"), f"{urn}: {name}"
        # Every container is handed a password or a private key, by upload or (services and
        # the database) in a volume its writer filled: each such upload's content is secret at
        # its leaf, as the engine keeps it; public files (the CA) stay readable.
        uploads = container["inputs"].get("uploads")
        if not uploads:
            assert container["name"].endswith(("-postgres", "-0")), urn
            continue
        secret_files = [u for u in uploads if u["content"] == SECRET]
        assert secret_files, urn
        assert all(u["content"] != SECRET for u in uploads if u["file"].endswith(".crt")), urn
    for password in by_type(stage, "random:index/randomPassword:RandomPassword"):
        assert password["inputs"]["length"] >= 32, password["urn"]
        assert "result" in password["options"]["additionalSecretOutputs"], password["urn"]
    api = named(stage, CONTAINER, "services-api-0")
    assert envs(api)["APP_SECRET_TOKEN_FILE"] == "/run/stageline/app-token", api["urn"]


def test_services_run_read_only_as_a_user_with_health_checks(local: StageRender) -> None:
    for service in ("api", "web"):
        container = named(local, CONTAINER, f"services-{service}-0")
        inputs, urn = container["inputs"], container["urn"]
        assert inputs["readOnly"] is True and inputs["user"] == "10001", urn
        # Docker refuses uploads into a read-only container: its files come in a volume its
        # writer filled, mounted read-only.
        assert "uploads" not in inputs, urn
        (files,) = inputs["volumes"]
        assert files["containerPath"] == "/run/stageline" and files["readOnly"] is True, urn
        assert files["volumeName"].startswith(f"local-services-{service}-0-files-"), urn
        writer = named(local, CONTAINER, f"services-{service}-0-files-writer")
        (target,) = writer["inputs"]["volumes"]
        assert target["volumeName"] == files["volumeName"] and not target.get("readOnly"), urn
        assert "/staging/ca.crt" in {u["file"] for u in writer["inputs"]["uploads"]}, urn
        assert inputs["memorySwap"] == inputs["memory"], urn
        assert inputs["healthcheck"]["tests"][0] == "CMD-SHELL", urn
        assert "http://127.0.0.1:8080/healthz" in inputs["healthcheck"]["tests"][1], urn
        env = envs(container)
        assert env["STAGELINE_RELEASE"] == "bootstrap" and env["PORT"] == "8080", urn
        assert env["HEALTH_PATH"] == "/healthz", urn
        # Only the service that uses the database (blueprint.yaml) connects to it, over TLS.
        assert env.get("PGSSLMODE") == ("verify-full" if service == "api" else None), urn


def test_proxy_terminates_tls_with_the_stage_certificate(local: StageRender) -> None:
    spec = load_stages(STACKS_DIR, ["local"]).specs["local"]
    config = caddyfile(DockerContext.of(spec))
    assert "api.local.stageline.localhost:443 {" in config
    assert "web.local.stageline.localhost:443 {" in config
    assert "tls /etc/caddy/tls/cert.pem /etc/caddy/tls/key.pem {" in config
    assert "protocols tls1.2" in config and "admin off" in config
    assert "reverse_proxy api-0:8080 {" in config and "health_uri /healthz" in config
    request = named(local, "tls:index/certRequest:CertRequest", "keys-proxy-csr")
    assert request["inputs"]["dnsNames"] == [
        "local.stageline.localhost",
        "*.local.stageline.localhost",
    ], request["urn"]
    signed = named(local, "tls:index/locallySignedCert:LocallySignedCert", "keys-proxy-cert")
    assert signed["inputs"]["allowedUses"] == [
        "digital_signature",
        "key_encipherment",
        "server_auth",
    ], signed["urn"]
    assert signed["inputs"]["caPrivateKeyPem"] == SECRET, signed["urn"]


def test_proxy_balances_over_every_replica(stacks_copy: Path) -> None:
    edit_stack(
        stacks_copy,
        "local",
        lambda c: c.update({"stageline:scale": {"services": {"api": {"minReplicas": 2}}}}),
    )
    spec = load_stages(stacks_copy, ["local"]).specs["local"]
    assert "reverse_proxy api-0:8080 api-1:8080 {" in caddyfile(DockerContext.of(spec))


def test_storage_bucket_is_created_by_a_one_shot_client(local: StageRender) -> None:
    minio = named(local, CONTAINER, "storage-minio")
    assert "ports" not in minio["inputs"], minio["urn"]
    assert minio["inputs"]["networksAdvanced"][0]["aliases"] == ["storage"], minio["urn"]
    client = named(local, CONTAINER, "storage-bucket")
    inputs = client["inputs"]
    assert inputs["mustRun"] is False and inputs["restart"] == "no", client["urn"]
    script = inputs["command"][0]
    assert "mc mb --ignore-existing stage/stageline-local" in script, client["urn"]
    assert "mc anonymous set none stage/stageline-local" in script, client["urn"]


def test_networks_come_from_the_stage_cidr_and_the_private_one_is_internal(
    local: StageRender,
) -> None:
    private = named(local, NETWORK, "network-private")
    edge = named(local, NETWORK, "network-edge")
    assert private["inputs"]["internal"] is True, private["urn"]
    assert edge["inputs"]["internal"] is False, edge["urn"]
    subnets = [
        ipaddress.IPv4Network(n["inputs"]["ipamConfigs"][0]["subnet"]) for n in (private, edge)
    ]
    assert subnets == list(ipaddress.IPv4Network("10.90.0.0/16").subnets(1))


def test_two_local_stages_share_no_physical_name_or_address(
    rendered: dict[str, StageRender],
) -> None:
    a, b = rendered["local"], rendered["local-b"]
    names_a = {r["name"] for r in a.resources}
    names_b = {r["name"] for r in b.resources}
    assert names_a.isdisjoint(names_b)
    for stage in (a, b):
        for resource in stage.resources:
            assert "name" not in resource["inputs"] or resource["type"] == IMAGE, (
                f"{resource['urn']} sets a fixed physical name"
            )
    nets_a = [
        ipaddress.IPv4Network(n["inputs"]["ipamConfigs"][0]["subnet"]) for n in by_type(a, NETWORK)
    ]
    nets_b = [
        ipaddress.IPv4Network(n["inputs"]["ipamConfigs"][0]["subnet"]) for n in by_type(b, NETWORK)
    ]
    assert not any(x.overlaps(y) for x in nets_a for y in nets_b)


def test_shape_that_docker_cannot_honour_is_refused_at_load_naming_file_and_key(
    stacks_copy: Path,
) -> None:
    """The Docker substrate's registered check runs with the rest of the spec, before any
    stage renders (it used to stop the render itself)."""

    def at_rest(config: dict[str, Any]) -> None:
        config["stageline:shape"]["encryption"]["atRest"] = True

    def postgres_15(config: dict[str, Any]) -> None:
        config["stageline:shape"]["database"] = {"majorVersion": 15}

    add_local_stack(stacks_copy, "local-kms", at_rest)
    add_local_stack(stacks_copy, "local-pg15", postgres_15)
    with pytest.raises(StagesError) as caught:
        load_stages(stacks_copy)
    message = str(caught.value)
    assert (
        "stacks/Pulumi.local-kms.yaml: stageline:shape.encryption.atRest: expected false on"
        " docker" in message
    )
    assert (
        "stacks/Pulumi.local-pg15.yaml: stageline:shape.database.majorVersion: expected one"
        " of [16] on docker" in message
    )


def test_local_shape_differs_from_the_pipeline_only_where_declared(stacks_copy: Path) -> None:
    stages = load_stages(stacks_copy)
    stacks = ["dev", "test", "staging", "live", "local"]
    report = compare_shapes("aws", stacks, stages.specs, stages.definition)
    rows = {r.property: r for r in report.rows}
    assert report.violations == []
    assert {p for p, r in rows.items() if r.verdict == "substrate"} == {
        "shape.encryption.atRest",
        "shape.logging.flowLogs",
    }
    # With one pipeline stage beside it, the local stage still does not set the reference.
    pair = compare_shapes("aws", ["dev", "local"], stages.specs, stages.definition)
    assert pair.violations == []
    assert {r.verdict for r in pair.rows} == {"substrate"}
    # A service port that differs locally is a shape violation, not a substrate difference.
    edit_stack(
        stacks_copy,
        "local",
        lambda c: c["stageline:shape"].update(
            {
                "services": {
                    "api": {"port": 9090, "healthPath": "/healthz"},
                    "web": {"port": 8080, "healthPath": "/healthz"},
                }
            }
        ),
    )
    stages = load_stages(stacks_copy)
    report = compare_shapes("aws", stacks, stages.specs, stages.definition)
    assert [(v.stack, v.property) for v in report.violations] == [
        ("local", "shape.services.api.port")
    ]
