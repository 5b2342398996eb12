"""The pack's Docker rules over gRPC: the rendered local stage is the compliant baseline, and
each case changes one property of it and expects exactly that rule to fire."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest

from components.spec.loader import PROJECT
from pipeline.policy import PolicyHarness, StageGraph
from pipeline.policy.check import project_of
from pipeline.stages import load_stages
from tests.conftest import PROJECT_DIR, STACKS_DIR, render
from tests.policies.mutate import Case, Change, drop_input, resource, set_input

CONTAINER = "docker:index/container:Container"
IMAGE = "docker:index/remoteImage:RemoteImage"
DOCKER_RULES = {
    "docker-remoteimage-pinned-by-digest",
    "docker-container-image-pinned-by-digest",
    "docker-container-disallow-privileged",
    "docker-container-disallow-host-network",
    "docker-container-secrets-not-in-plain-env",
    "docker-container-database-port-not-published",
    "docker-container-disallow-host-mounts",
    "docker-container-disallow-devices",
    "docker-container-non-root-user",
    "docker-container-read-only-root",
    "docker-container-security-options",
    "docker-container-capabilities-minimal",
    "docker-container-ports-through-tls-proxy",
    "docker-container-network-isolation",
    "docker-container-logging",
    "docker-container-database-tls-and-password-auth",
    "docker-all-labelled-required-labels",
    "docker-network-tiers-isolated",
    "docker-container-tls-proxy-present",
    "docker-container-tls-proxy-config",
    "docker-container-storage-tls-and-private",
    "docker-container-secrets-not-in-command",
    "docker-container-database-log-connections",
    "docker-tls-privatekey-strong",
    "docker-random-password-length",
    "docker-blueprint-component-exactly-once",
}
KEY = "tls:index/privateKey:PrivateKey"
PASSWORD = "random:index/randomPassword:RandomPassword"
CADDYFILE = "/etc/caddy/Caddyfile"
VOLUME = "docker:index/volume:Volume"
NETWORK = "docker:index/network:Network"
PROXY_PORT = {"internal": 443, "ip": "127.0.0.1", "protocol": "tcp"}


@pytest.fixture(scope="module")
def pack() -> Iterator[PolicyHarness]:
    with PolicyHarness(PROJECT_DIR / "policies") as harness:
        yield harness


@pytest.fixture(scope="module")
def baseline() -> tuple[list[dict[str, Any]], dict[str, Any], dict[str, str]]:
    stages = load_stages(STACKS_DIR, ["local"])
    stage = render(STACKS_DIR, "local")["local"]
    assert stage.error is None, stage.error
    return stage.resources, stage.outputs, dict(stages.configs["local"].values)


def drop(type_token: str, suffix: str) -> Change:
    """Remove one resource and everything under it (a whole component)."""

    def change(resources: list[dict[str, Any]]) -> None:
        doomed = {resource(resources, type_token, suffix)["urn"]}
        while True:
            more = {r["urn"] for r in resources if r.get("parent") in doomed} - doomed
            if not more:
                break
            doomed |= more
        resources[:] = [r for r in resources if r["urn"] not in doomed]

    return change


def join_proxy_networks(suffix: str) -> Change:
    """Attach a container to every network the TLS proxy joins (the edge one among them)."""

    def change(resources: list[dict[str, Any]]) -> None:
        proxy = resource(resources, CONTAINER, "local-services-proxy")["inputs"]
        target = resource(resources, CONTAINER, suffix)["inputs"]
        target["networksAdvanced"] = copy.deepcopy(proxy["networksAdvanced"])

    return change


def edit_caddyfile(old: str, new: str) -> Change:
    def change(resources: list[dict[str, Any]]) -> None:
        proxy = resource(resources, CONTAINER, "local-services-proxy")
        upload = next(u for u in proxy["inputs"]["uploads"] if u["file"] == CADDYFILE)
        assert old in upload["content"]
        upload["content"] = upload["content"].replace(old, new)

    return change


def replace_word(suffix: str, key: str, old: str, new: str) -> Change:
    def change(resources: list[dict[str, Any]]) -> None:
        words = resource(resources, CONTAINER, suffix)["inputs"][key]
        words[words.index(old)] = new

    return change


def graph(
    baseline: tuple[list[dict[str, Any]], dict[str, Any], dict[str, str]],
    change: Change | None = None,
) -> StageGraph:
    resources, outputs, config = copy.deepcopy(baseline)
    if change is not None:
        change(resources)
    return StageGraph("local", project_of(resources), resources, outputs, config)


CASES = [
    Case("image-by-tag", "docker-remoteimage-pinned-by-digest",
         set_input(IMAGE, "local-services-proxy-image", "name", "caddy:2"),
         "image caddy:2 is not pinned by digest", "local-services-proxy-image"),
    Case("container-from-tag", "docker-container-image-pinned-by-digest",
         set_input(CONTAINER, "local-services-api-0", "image", "ghcr.io/stageline/api:latest"),
         "ghcr.io/stageline/api:latest is not pinned by digest", "local-services-api-0"),
    Case("privileged", "docker-container-disallow-privileged",
         set_input(CONTAINER, "local-storage-minio", "privileged", True),
         "privileged is true", "local-storage-minio"),
    Case("sys-admin", "docker-container-disallow-privileged",
         set_input(CONTAINER, "local-services-web-0", "capabilities",
                   {"drops": ["ALL"], "adds": ["SYS_ADMIN"]}),
         "capabilities.adds grants SYS_ADMIN", "local-services-web-0"),
    Case("host-network", "docker-container-disallow-host-network",
         set_input(CONTAINER, "local-services-proxy", "networkMode", "host"),
         "networkMode is host", "local-services-proxy"),
    Case("host-pid", "docker-container-disallow-host-network",
         set_input(CONTAINER, "local-services-api-0", "pidMode", "host"),
         "pidMode is host", "local-services-api-0"),
    Case("password-in-env", "docker-container-secrets-not-in-plain-env",
         set_input(CONTAINER, "local-database-postgres", "envs",
                   lambda envs: [*envs, "POSTGRES_PASSWORD=hunter2"]),
         "POSTGRES_PASSWORD is a plain environment value", "local-database-postgres"),
    Case("file-var-not-a-path", "docker-container-secrets-not-in-plain-env",
         set_input(CONTAINER, "local-services-api-0", "envs",
                   lambda envs: [*envs, "APP_SECRET_TOKEN_FILE=hunter2"]),
         "APP_SECRET_TOKEN_FILE is not a path", "local-services-api-0"),
    Case("published-database", "docker-container-database-port-not-published",
         set_input(CONTAINER, "local-database-postgres", "ports",
                   [{"internal": 5432, "external": 5432, "ip": "127.0.0.1", "protocol": "tcp"}]),
         "port 5432 (PostgreSQL) is published on the host", "local-database-postgres"),
    Case("docker-socket", "docker-container-disallow-host-mounts",
         set_input(CONTAINER, "local-services-api-0", "volumes",
                   lambda v: [*v, {"containerPath": "/var/run/docker.sock",
                                   "hostPath": "/var/run/docker.sock"}]),
         "/var/run/docker.sock mounts the Docker socket", "local-services-api-0"),
    Case("host-path", "docker-container-disallow-host-mounts",
         set_input(CONTAINER, "local-storage-minio", "volumes",
                   [{"containerPath": "/data", "hostPath": "/srv/minio"}]),
         "volumes[0].hostPath /srv/minio mounts a host path", "local-storage-minio"),
    Case("bind-mount", "docker-container-disallow-host-mounts",
         set_input(CONTAINER, "local-services-web-0", "mounts",
                   [{"type": "bind", "source": "/etc", "target": "/host-etc"}]),
         "mounts[0].source /etc mounts a host path", "local-services-web-0"),
    Case("device", "docker-container-disallow-devices",
         set_input(CONTAINER, "local-services-api-0", "devices",
                   [{"hostPath": "/dev/mem", "containerPath": "/dev/mem"}]),
         "device /dev/mem of the host", "local-services-api-0"),
    Case("root-user", "docker-container-non-root-user",
         set_input(CONTAINER, "local-storage-minio", "user", "0:0"),
         "user is 0:0", "local-storage-minio"),
    Case("service-without-user", "docker-container-non-root-user",
         drop_input(CONTAINER, "local-services-web-0", "user"),
         "a service container without user", "local-services-web-0"),
    Case("writable-root", "docker-container-read-only-root",
         set_input(CONTAINER, "local-services-api-0", "readOnly", False),
         "a service container with a writable root filesystem", "local-services-api-0"),
    Case("no-new-privileges-missing", "docker-container-security-options",
         set_input(CONTAINER, "local-services-proxy", "securityOpts", []),
         "lacks no-new-privileges:true", "local-services-proxy"),
    Case("seccomp-unconfined", "docker-container-security-options",
         set_input(CONTAINER, "local-services-api-0", "securityOpts",
                   lambda o: [*o, "seccomp=unconfined"]),
         "seccomp=unconfined switches a kernel confinement off", "local-services-api-0"),
    Case("apparmor-unconfined", "docker-container-security-options",
         set_input(CONTAINER, "local-database-postgres", "securityOpts",
                   lambda o: [*o, "apparmor:unconfined"]),
         "apparmor:unconfined", "local-database-postgres"),
    Case("net-admin", "docker-container-capabilities-minimal",
         set_input(CONTAINER, "local-services-proxy", "capabilities",
                   {"drops": ["ALL"], "adds": ["NET_BIND_SERVICE", "NET_ADMIN"]}),
         "capabilities.adds grants NET_ADMIN", "local-services-proxy"),
    Case("ptrace", "docker-container-capabilities-minimal",
         set_input(CONTAINER, "local-services-api-0", "capabilities",
                   {"drops": ["ALL"], "adds": ["CAP_SYS_PTRACE"]}),
         "capabilities.adds grants SYS_PTRACE", "local-services-api-0"),
    Case("no-drop-all", "docker-container-capabilities-minimal",
         set_input(CONTAINER, "local-storage-minio", "capabilities", {"drops": [], "adds": []}),
         "does not drop ALL", "local-storage-minio"),
    Case("port-around-proxy", "docker-container-ports-through-tls-proxy",
         set_input(CONTAINER, "local-services-api-0", "ports",
                   [{"internal": 8080, "ip": "127.0.0.1", "protocol": "tcp"}]),
         "port 8080 is published, around the TLS proxy", "local-services-api-0"),
    Case("all-interfaces", "docker-container-ports-through-tls-proxy",
         set_input(CONTAINER, "local-services-proxy", "ports", [{**PROXY_PORT, "ip": "0.0.0.0"}]),
         "port 443 is published on 0.0.0.0", "local-services-proxy"),
    Case("no-ip-is-every-interface", "docker-container-ports-through-tls-proxy",
         set_input(CONTAINER, "local-services-proxy", "ports",
                   [{"internal": 443, "protocol": "tcp"}]),
         "port 443 is published on 0.0.0.0", "local-services-proxy"),
    Case("default-bridge", "docker-container-network-isolation",
         lambda rs: (set_input(CONTAINER, "local-services-web-0", "networkMode", "bridge")(rs),
                     drop_input(CONTAINER, "local-services-web-0", "networksAdvanced")(rs)),
         "networkMode is bridge", "local-services-web-0"),
    Case("no-network", "docker-container-network-isolation",
         drop_input(CONTAINER, "local-storage-minio", "networksAdvanced"),
         "no networksAdvanced", "local-storage-minio"),
    Case("no-logs", "docker-container-logging",
         set_input(CONTAINER, "local-services-api-0", "logDriver", "none"),
         "logDriver is none", "local-services-api-0"),
    Case("no-rotation", "docker-container-logging",
         set_input(CONTAINER, "local-database-postgres", "logOpts", {"max-file": "3"}),
         "without logOpts max-size", "local-database-postgres"),
    Case("database-without-tls", "docker-container-database-tls-and-password-auth",
         set_input(CONTAINER, "local-database-postgres", "command",
                   lambda c: [a.replace("ssl=on", "ssl=off") for a in c]),
         "does not enable TLS", "local-database-postgres"),
    Case("trust-auth", "docker-container-database-tls-and-password-auth",
         set_input(CONTAINER, "local-database-postgres", "envs",
                   lambda e: [*e, "POSTGRES_HOST_AUTH_METHOD=trust"]),
         "POSTGRES_HOST_AUTH_METHOD is trust", "local-database-postgres"),
    Case("initdb-trust", "docker-container-database-tls-and-password-auth",
         set_input(CONTAINER, "local-database-postgres", "envs",
                   lambda e: [x if not x.startswith("POSTGRES_INITDB_ARGS=") else
                              "POSTGRES_INITDB_ARGS=--auth-host=trust" for x in e]),
         "POSTGRES_INITDB_ARGS sets trust", "local-database-postgres"),
    Case("client-no-verify", "docker-container-database-tls-and-password-auth",
         set_input(CONTAINER, "local-services-api-0", "envs",
                   lambda e: [x if not x.startswith("PGSSLMODE=") else "PGSSLMODE=prefer"
                              for x in e]),
         "PGSSLMODE is prefer", "local-services-api-0"),
    Case("container-unlabelled", "docker-all-labelled-required-labels",
         set_input(CONTAINER, "local-services-web-0", "labels",
                   lambda ls: [x for x in ls if x["label"] != "owner"]),
         "labels lack owner", "local-services-web-0"),
    Case("volume-unlabelled", "docker-all-labelled-required-labels",
         set_input(VOLUME, "local-database-data", "labels", []),
         "labels lack stage, project, owner, cost-center, managed-by", "local-database-data"),
    Case("network-unlabelled", "docker-all-labelled-required-labels",
         set_input(NETWORK, "local-network-private", "labels",
                   lambda ls: [x for x in ls if x["label"] != "cost-center"]),
         "labels lack cost-center", "local-network-private"),
    Case("pass-suffix", "docker-container-secrets-not-in-plain-env",
         set_input(CONTAINER, "local-services-api-0", "envs",
                   lambda envs: [*envs, "SMTP_PASS=hunter2"]),
         "SMTP_PASS is a plain environment value", "local-services-api-0"),
    Case("credentials-in-url", "docker-container-secrets-not-in-plain-env",
         set_input(CONTAINER, "local-services-web-0", "envs",
                   lambda envs: [*envs, "DATABASE_URL=postgres://app:hunter2@database/app"]),
         "DATABASE_URL embeds credentials in a URL", "local-services-web-0"),
    Case("api-on-edge", "docker-network-tiers-isolated",
         join_proxy_networks("local-services-api-0"),
         "joins local-network-edge, which is not internal", "local-services-api-0"),
    Case("no-proxy", "docker-container-tls-proxy-present",
         drop(CONTAINER, "local-services-proxy"), "has no TLS proxy in front of it",
         "local-services-api-0"),
    Case("proxy-tls10", "docker-container-tls-proxy-config",
         edit_caddyfile("protocols tls1.2", "protocols tls1.0"), "the proxy accepts tls1.0",
         "local-services-proxy"),
    Case("minio-plain-http", "docker-container-storage-tls-and-private",
         set_input(CONTAINER, "local-storage-minio", "command",
                   ["server", "/data", "--address", ":9000"]),
         "starts without --certs-dir", "local-storage-minio"),
    Case("password-in-command", "docker-container-secrets-not-in-command",
         set_input(CONTAINER, "local-database-postgres", "healthcheck.tests",
                   ["CMD-SHELL", "PGPASSWORD=hunter2 pg_isready"]),
         "healthcheck.tests holds a secret", "local-database-postgres"),
    Case("no-connection-log", "docker-container-database-log-connections",
         replace_word("local-database-postgres", "command", "log_connections=on",
                      "log_connections=off"),
         "does not log connections", "local-database-postgres"),
    Case("weak-key", "docker-tls-privatekey-strong",
         set_input(KEY, "local-keys-proxy-key", "ecdsaCurve", "P224"), "ECDSA curve P224",
         "local-keys-proxy-key"),
    Case("short-password", "docker-random-password-length",
         set_input(PASSWORD, "local-database-password", "length", 8), "length is 8",
         "local-database-password"),
    Case("no-logs-component", "docker-blueprint-component-exactly-once",
         drop(f"{PROJECT}:docker:Logs", "local-logs"),
         f"{PROJECT}:docker:Logs is present 0 time(s)", f"{PROJECT}-local"),
]  # fmt: skip


def seen(diagnostics: list[Any]) -> list[tuple[str, str, str, str]]:
    return [(d.policy, d.enforcement, d.urn, d.message) for d in diagnostics]


def test_local_stage_is_the_compliant_baseline(
    pack: PolicyHarness, baseline: tuple[list[dict[str, Any]], dict[str, Any], dict[str, str]]
) -> None:
    result = pack.analyze(graph(baseline))
    assert result.diagnostics == [], seen(result.diagnostics)
    assert set(result.enabled) >= DOCKER_RULES, sorted(DOCKER_RULES - set(result.enabled))


def test_the_real_providers_network_mode_default_is_compliant(
    pack: PolicyHarness, baseline: tuple[list[dict[str, Any]], dict[str, Any], dict[str, str]]
) -> None:
    """The real provider's Check gives every container networkMode bridge (its schema default)
    and disconnects one with networksAdvanced from the default bridge before it starts: the
    docker lane's real preview sends exactly that, and it must pass."""

    def as_the_engine_sends(resources: list[dict[str, Any]]) -> None:
        for r in resources:
            if r["type"] == CONTAINER:
                r["inputs"].setdefault("networkMode", "bridge")

    result = pack.analyze(graph(baseline, as_the_engine_sends))
    assert result.diagnostics == [], seen(result.diagnostics)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_changing_one_property_fires_exactly_that_rule(
    pack: PolicyHarness,
    baseline: tuple[list[dict[str, Any]], dict[str, Any], dict[str, str]],
    case: Case,
) -> None:
    result = pack.analyze(graph(baseline, case.change))
    found = seen(result.diagnostics)
    assert {d.policy for d in result.diagnostics} == {case.policy}, f"{case.urn}: {found}"
    match = [
        d
        for d in result.diagnostics
        if d.urn.endswith(f"::{case.urn}") and case.message in d.message
    ]
    assert match, f"no finding on {case.urn} saying {case.message!r}: {found}"
    assert all(d.enforcement == "mandatory" for d in match), f"{case.urn}: {found}"


def test_every_docker_rule_has_a_failing_case(pack: PolicyHarness) -> None:
    docker_rules = {p.name for p in pack.policies() if p.name.startswith("docker-")}
    assert docker_rules == DOCKER_RULES
    assert docker_rules - {c.policy for c in CASES} == set()
