"""Our tls provider: real keys and certificates, checked with `cryptography`'s own verification."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509 import verification
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pulumi.runtime.proto import provider_pb2

from tests.providers.conftest import Driver, as_dict, is_secret, plain, secret, struct
from tools.providers.tls_provider import (
    CERT_REQUEST,
    LOCALLY_SIGNED,
    PRIVATE_KEY,
    SELF_SIGNED,
    due_for_renewal,
)

NONE = provider_pb2.DiffResponse.DIFF_NONE
SOME = provider_pb2.DiffResponse.DIFF_SOME
CA_USES = ["cert_signing", "crl_signing", "digital_signature"]
SERVER_USES = ["digital_signature", "key_encipherment", "server_auth"]


def _key(tls: Driver, **inputs: Any) -> dict[str, Any]:
    return plain(
        tls.create(PRIVATE_KEY, {"algorithm": "ECDSA", "ecdsaCurve": "P256", **inputs}).properties
    )


def _ca_inputs(key_pem: str) -> dict[str, Any]:
    return {
        "privateKeyPem": secret(key_pem),
        "isCaCertificate": True,
        "validityPeriodHours": 24,
        "earlyRenewalHours": 2,
        "allowedUses": CA_USES,
        "subject": {"commonName": "dev local CA", "organization": "example"},
    }


def _chain(tls: Driver) -> dict[str, Any]:
    """A CA, a server key, its request and its certificate signed by the CA."""
    ca_key = _key(tls)
    ca = tls.create(SELF_SIGNED, _ca_inputs(ca_key["privateKeyPem"]))
    server_key = _key(tls)
    csr_inputs = {
        "privateKeyPem": secret(server_key["privateKeyPem"]),
        "dnsNames": ["db.internal", "localhost"],
        "ipAddresses": ["127.0.0.1"],
        "subject": {"commonName": "db.internal"},
    }
    csr = tls.create(CERT_REQUEST, csr_inputs)
    cert_inputs = {
        "certRequestPem": plain(csr.properties)["certRequestPem"],
        "caCertPem": plain(ca.properties)["certPem"],
        "caPrivateKeyPem": secret(ca_key["privateKeyPem"]),
        "validityPeriodHours": 12,
        "earlyRenewalHours": 1,
        "allowedUses": SERVER_USES,
    }
    cert = tls.create(LOCALLY_SIGNED, cert_inputs)
    return {
        "ca_key": ca_key,
        "ca": ca,
        "server_key": server_key,
        "csr": csr,
        "csr_inputs": csr_inputs,
        "cert": cert,
        "cert_inputs": cert_inputs,
    }


def test_plugin_reports_the_sdk_pinned_version(tls: Driver) -> None:
    assert tls.provider.GetPluginInfo(None, tls.context).version == "5.6.2"


@pytest.mark.parametrize(
    ("inputs", "key_type", "size"),
    [
        ({"algorithm": "ECDSA", "ecdsaCurve": "P256"}, ec.EllipticCurvePrivateKey, 256),
        ({"algorithm": "ECDSA"}, ec.EllipticCurvePrivateKey, 224),  # the real default, P224
        ({"algorithm": "RSA"}, rsa.RSAPrivateKey, 2048),
    ],
)
def test_key_pair_public_key_matches_its_private_key(
    tls: Driver, inputs: dict, key_type: type, size: int
) -> None:
    created = tls.create(PRIVATE_KEY, inputs)
    raw = as_dict(created.properties)
    secrets = {k for k, v in raw.items() if is_secret(v)}
    assert secrets == {"privateKeyOpenssh", "privateKeyPem", "privateKeyPemPkcs8"}
    props = plain(created.properties)
    private = serialization.load_pem_private_key(props["privateKeyPem"].encode(), None)
    pkcs8 = serialization.load_pem_private_key(props["privateKeyPemPkcs8"].encode(), None)
    assert isinstance(private, key_type) and private.key_size == size
    public_der = private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    published = serialization.load_pem_public_key(props["publicKeyPem"].encode())
    assert (
        published.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        == public_der
    )
    assert pkcs8.private_numbers() == private.private_numbers()
    assert created.id == props["id"] == hashlib.sha1(public_der).hexdigest()
    assert props["privateKeyPem"].startswith(
        "-----BEGIN RSA PRIVATE KEY-----"
        if key_type is rsa.RSAPrivateKey
        else "-----BEGIN EC PRIVATE KEY-----"
    )
    if size == 224:  # no OpenSSH form for P-224, as the real provider documents
        assert props["publicKeyOpenssh"] == props["privateKeyOpenssh"] == ""
        return
    ssh = serialization.load_ssh_public_key(props["publicKeyOpenssh"].encode())
    assert (
        ssh.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        == public_der
    )
    blob = base64.b64decode(props["publicKeyOpenssh"].split()[1])
    digest = base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")
    assert props["publicKeyFingerprintSha256"] == f"SHA256:{digest}"
    assert props["publicKeyOpenssh"].endswith("\n")
    assert props["ecdsaCurve"] == inputs.get("ecdsaCurve", "P224") and props["rsaBits"] == 2048


def test_check_refuses_unknown_algorithms_and_usages(tls: Driver) -> None:
    assert tls.check(PRIVATE_KEY, {"algorithm": "DSA"}).failures[0].property == "algorithm"
    assert tls.check(PRIVATE_KEY, {"algorithm": "ECDSA", "ecdsaCurve": "P999"}).failures
    bad_use = {"privateKeyPem": "x", "validityPeriodHours": 1, "allowedUses": ["fly"]}
    assert tls.check(SELF_SIGNED, bad_use).failures[0].property == "allowedUses"
    assert not tls.check(PRIVATE_KEY, {"algorithm": "ED25519"}).failures


def test_ca_certificate_is_a_ca(tls: Driver) -> None:
    chain = _chain(tls)
    ca_props = plain(chain["ca"].properties)
    ca = x509.load_pem_x509_certificate(ca_props["certPem"].encode())
    constraints = ca.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical and constraints.value.ca is True
    usage = ca.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.key_cert_sign and usage.crl_sign and usage.digital_signature
    assert ca.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "dev local CA"
    assert ca.issuer == ca.subject
    assert str(ca.serial_number) == chain["ca"].id == ca_props["id"]
    start = datetime.fromisoformat(ca_props["validityStartTime"])
    end = datetime.fromisoformat(ca_props["validityEndTime"])
    assert end - start == timedelta(hours=24) and ca.not_valid_after_utc == end
    assert ca_props["readyForRenewal"] is False and ca_props["keyAlgorithm"] == "ECDSA"
    assert is_secret(as_dict(chain["ca"].properties)["privateKeyPem"])


def test_locally_signed_cert_verifies_against_its_ca(tls: Driver) -> None:
    chain = _chain(tls)
    ca = x509.load_pem_x509_certificate(plain(chain["ca"].properties)["certPem"].encode())
    props = plain(chain["cert"].properties)
    leaf = x509.load_pem_x509_certificate(props["certPem"].encode())
    verifier = (
        verification.PolicyBuilder()
        .store(verification.Store([ca]))
        .time(datetime.now(UTC) + timedelta(minutes=1))
        .build_server_verifier(x509.DNSName("db.internal"))
    )
    path = verifier.verify(leaf, [])
    assert path[-1] == ca
    names = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["db.internal", "localhost"]
    assert [str(ip) for ip in names.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    usage = leaf.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical and usage.value.digital_signature and usage.value.key_encipherment
    assert not usage.value.key_cert_sign
    extended = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(extended) == [ExtendedKeyUsageOID.SERVER_AUTH]
    assert leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    server_public = serialization.load_pem_public_key(chain["server_key"]["publicKeyPem"].encode())
    assert leaf.public_key() == server_public
    assert props["caKeyAlgorithm"] == "ECDSA" and chain["cert"].id == str(leaf.serial_number)
    assert is_secret(as_dict(chain["cert"].properties)["caPrivateKeyPem"])


def test_cert_request_carries_subject_and_names(tls: Driver) -> None:
    chain = _chain(tls)
    props = plain(chain["csr"].properties)
    request = x509.load_pem_x509_csr(props["certRequestPem"].encode())
    assert request.is_signature_valid
    assert request.subject.rfc4514_string() == "CN=db.internal"
    names = request.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["db.internal", "localhost"]
    der = request.public_bytes(serialization.Encoding.DER)
    assert chain["csr"].id == hashlib.sha1(der).hexdigest() and props["keyAlgorithm"] == "ECDSA"


def _diff(tls: Driver, token: str, created: Any, old: dict, **change: Any) -> Any:
    return tls.diff(token, created.properties, old, {**old, **change})


def test_diff_replaces_where_the_real_schemas_require(tls: Driver) -> None:
    chain = _chain(tls)
    key_inputs = {"algorithm": "ECDSA", "ecdsaCurve": "P256"}
    key = tls.create(PRIVATE_KEY, key_inputs)
    assert _diff(tls, PRIVATE_KEY, key, key_inputs).changes == NONE
    assert list(_diff(tls, PRIVATE_KEY, key, key_inputs, ecdsaCurve="P384").replaces) == [
        "ecdsaCurve"
    ]
    # rsaBits is stored at its default 2048: setting it explicitly is no change.
    assert _diff(tls, PRIVATE_KEY, key, key_inputs, rsaBits=2048).changes == NONE

    cert, inputs = chain["cert"], chain["cert_inputs"]
    assert _diff(tls, LOCALLY_SIGNED, cert, inputs).changes == NONE
    for field, value in [
        ("validityPeriodHours", 48),
        ("allowedUses", ["digital_signature"]),
        ("isCaCertificate", True),
        ("caCertPem", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"),
    ]:
        diff = _diff(tls, LOCALLY_SIGNED, cert, inputs, **{field: value})
        assert list(diff.replaces) == [field], field
    # earlyRenewalHours and maxPathLength have no RequiresReplace: an in-place update.
    for field, value in [("earlyRenewalHours", 3), ("maxPathLength", 2)]:
        diff = _diff(tls, LOCALLY_SIGNED, cert, inputs, **{field: value})
        assert diff.changes == SOME and list(diff.diffs) == [field] and not diff.replaces

    ca, ca_inputs = chain["ca"], _ca_inputs(chain["ca_key"]["privateKeyPem"])
    assert _diff(tls, SELF_SIGNED, ca, ca_inputs).changes == NONE
    subject = {"commonName": "other CA"}
    assert list(_diff(tls, SELF_SIGNED, ca, ca_inputs, subject=subject).replaces) == ["subject"]
    csr_inputs = chain["csr_inputs"]
    diff = _diff(tls, CERT_REQUEST, chain["csr"], csr_inputs, dnsNames=["db.internal"])
    assert list(diff.replaces) == ["dnsNames"]
    new_key = secret(_key(tls)["privateKeyPem"])
    diff = _diff(tls, CERT_REQUEST, chain["csr"], csr_inputs, privateKeyPem=new_key)
    assert list(diff.replaces) == ["privateKeyPem"]


def test_update_changes_early_renewal_in_place_and_keeps_the_certificate(tls: Driver) -> None:
    chain = _chain(tls)
    cert, inputs = chain["cert"], chain["cert_inputs"]
    updated = tls.update(
        LOCALLY_SIGNED, cert.properties, inputs, {**inputs, "earlyRenewalHours": 3}
    )
    after, before = plain(updated.properties), plain(cert.properties)
    assert after["earlyRenewalHours"] == 3
    assert after["certPem"] == before["certPem"] and after["id"] == before["id"]
    assert is_secret(as_dict(updated.properties)["caPrivateKeyPem"])


def test_ready_for_renewal_forces_a_replacement(tls: Driver) -> None:
    chain = _chain(tls)
    cert, inputs = chain["cert"], chain["cert_inputs"]
    # validity 12 h: early renewal 12 h before the end is due now; 11 h is not yet.
    due = _diff(tls, LOCALLY_SIGNED, cert, inputs, earlyRenewalHours=12)
    assert "readyForRenewal" in due.replaces
    assert not _diff(tls, LOCALLY_SIGNED, cert, inputs, earlyRenewalHours=11).replaces
    state = plain(cert.properties)
    end = datetime.fromisoformat(state["validityEndTime"])
    assert due_for_renewal(state, 1, now=end - timedelta(minutes=59))
    assert not due_for_renewal(state, 1, now=end - timedelta(minutes=61))


def test_read_returns_what_create_returned(tls: Driver) -> None:
    chain = _chain(tls)
    for token, created, inputs in [
        (SELF_SIGNED, chain["ca"], _ca_inputs(chain["ca_key"]["privateKeyPem"])),
        (LOCALLY_SIGNED, chain["cert"], chain["cert_inputs"]),
        (CERT_REQUEST, chain["csr"], chain["csr_inputs"]),
    ]:
        read = tls.read(token, created, inputs)
        assert read.id == created.id
        assert as_dict(read.properties) == as_dict(created.properties), token
        assert as_dict(read.inputs) == as_dict(struct(inputs))


def test_read_marks_a_certificate_past_its_renewal_time(tls: Driver) -> None:
    chain = _chain(tls)
    state = as_dict(chain["cert"].properties)
    state["validityEndTime"] = "2000-01-01T00:00:00Z"
    request = provider_pb2.ReadRequest(
        urn="urn:pulumi:dev::p::t::n",
        type=LOCALLY_SIGNED,
        id=chain["cert"].id,
        properties=struct(state),
        inputs=struct(chain["cert_inputs"]),
    )
    read = as_dict(tls.provider.Read(request, tls.context).properties)
    assert read["readyForRenewal"] is True
    assert is_secret(read["caPrivateKeyPem"])
