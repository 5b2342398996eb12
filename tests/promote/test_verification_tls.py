"""Verification of a stage with its own CA (a local Docker stage's ``caCertificate`` output):
a real TLS server on 127.0.0.1 with a certificate for ``*.<domain>.localhost`` signed by a CA
made here. The CA alone is trusted, names are checked, and ``*.localhost`` reaches loopback
whatever the system resolver says."""

from __future__ import annotations

import datetime
import json
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from pipeline.promote.verification import HealthCheck, is_loopback_name, trust_for

DOMAIN = "dev.local.example.localhost"


@dataclass(frozen=True)
class Authority:
    cert_pem: str
    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _authority(common: str) -> Authority:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(common))
        .issuer_name(_name(common))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), True
        )
        .sign(key, hashes.SHA256())
    )
    return Authority(cert.public_bytes(serialization.Encoding.PEM).decode(), key, cert)


def _server_files(ca: Authority, names: list[str], where: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(names[0]))
        .issuer_name(ca.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), False)
        .sign(ca.key, hashes.SHA256())
    )
    cert_file, key_file = where / "server.crt", where / "server.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


@dataclass
class Stage:
    ca: Authority
    port: int
    hosts: list[str]

    def outputs(self, host: str = f"api.{DOMAIN}", ca: str | None = None) -> dict[str, Any]:
        return {
            "serviceUrls": {"api": f"https://{host}:{self.port}"},
            "healthPaths": {"api": "/healthz"},
            "caCertificate": self.ca.cert_pem if ca is None else ca,
        }


@pytest.fixture(scope="module")
def stage(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stage]:
    ca = _authority("stage CA")
    cert, key = _server_files(ca, [DOMAIN, f"*.{DOMAIN}"], tmp_path_factory.mktemp("tls"))
    hosts: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hosts.append(self.headers["Host"])
            body = json.dumps({"release": "r1"}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield Stage(ca, server.server_address[1], hosts)
    server.shutdown()


CHECK = HealthCheck(timeout=0.5, interval=0.1)


def test_a_stage_with_its_own_ca_is_verified_against_it_on_loopback(stage: Stage) -> None:
    result = CHECK("local-dev", stage.outputs(), "r1")
    assert result.ok, result.detail
    # The request named the service (Host, as a browser sends it), not 127.0.0.1.
    assert stage.hosts[-1] == f"api.{DOMAIN}:{stage.port}"
    wrong = CHECK("local-dev", stage.outputs(), "r2")
    assert not wrong.ok and '"release": "r1"' in wrong.detail, wrong.detail


def test_without_the_stages_ca_the_system_cas_refuse_it(stage: Stage) -> None:
    result = CHECK("local-dev", stage.outputs(ca=""), "r1")
    assert not result.ok
    assert "CERTIFICATE_VERIFY_FAILED" in result.detail or "certificate" in result.detail, (
        result.detail
    )


def test_another_ca_is_not_trusted(stage: Stage) -> None:
    other = _authority("another stage's CA")
    result = CHECK("local-dev", stage.outputs(ca=other.cert_pem), "r1")
    assert not result.ok and "certificate verify failed" in result.detail, result.detail


def test_a_name_the_certificate_does_not_hold_is_refused(stage: Stage) -> None:
    # Reaches the same server on loopback, but its certificate is not for this name.
    result = CHECK("local-dev", stage.outputs(host="api.test.local.example.localhost"), "r1")
    assert not result.ok and "certificate verify failed" in result.detail, result.detail


def test_a_ca_output_that_is_not_pem_fails_verification_naming_it(stage: Stage) -> None:
    result = CHECK("local-dev", stage.outputs(ca="not a certificate"), "r1")
    assert not result.ok
    assert result.detail.startswith("local-dev: the caCertificate output is not a PEM"), result


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("localhost", True),
        ("api.dev.local.example.localhost", True),
        ("API.Dev.LOCALHOST.", True),
        ("localhost.example.com", False),
        ("mylocalhost", False),
        ("api.example.com", False),
    ],
)
def test_which_names_mean_this_machine(host: str, loopback: bool) -> None:
    assert is_loopback_name(host) is loopback


def test_stages_without_a_ca_output_use_the_system_store() -> None:
    assert trust_for({"serviceUrl": "https://api.example.com"}) is None
    assert trust_for({"caCertificate": ""}) is None
