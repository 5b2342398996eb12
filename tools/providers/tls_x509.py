"""Keys, certificate requests and certificates, made with `cryptography` as the real tls provider
makes them with Go's crypto/x509 (hashicorp/terraform-provider-tls `internal/provider`:
`resource_private_key.go`, `common_key.go`, `common_cert.go`, `resource_cert_request.go`,
`resource_self_signed_cert.go`, `resource_locally_signed_cert.go`).

The encodings follow the real provider's: PKCS#1 `RSA PRIVATE KEY` and SEC 1 `EC PRIVATE KEY` for
`privateKeyPem` (PKCS#8 for Ed25519), `publicKeyOpenssh` with a trailing newline, OpenSSH
fingerprints (`aa:bb:...` MD5 and unpadded `SHA256:...`), an `id` that is the SHA-1 of the
public key's DER; certificates with a 128-bit random serial (the `id`), Go's extension
criticality (key usage and basic constraints critical) and Go's signature hash per key.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import NameOID, ObjectIdentifier

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey

CURVES: dict[str, type[ec.EllipticCurve]] = {
    "P224": ec.SECP224R1,
    "P256": ec.SECP256R1,
    "P384": ec.SECP384R1,
    "P521": ec.SECP521R1,
}
ALGORITHMS = ("RSA", "ECDSA", "ED25519")

# common_cert.go keyUsages (the x509.KeyUsage bits, by cryptography's KeyUsage argument).
KEY_USAGES = {
    "digital_signature": "digital_signature",
    "content_commitment": "content_commitment",
    "key_encipherment": "key_encipherment",
    "data_encipherment": "data_encipherment",
    "key_agreement": "key_agreement",
    "cert_signing": "key_cert_sign",
    "crl_signing": "crl_sign",
    "encipher_only": "encipher_only",
    "decipher_only": "decipher_only",
}
# common_cert.go extendedKeyUsages, by the OIDs Go's x509.ExtKeyUsage values encode to.
EXTENDED_KEY_USAGES = {
    "any_extended": "2.5.29.37.0",
    "server_auth": "1.3.6.1.5.5.7.3.1",
    "client_auth": "1.3.6.1.5.5.7.3.2",
    "code_signing": "1.3.6.1.5.5.7.3.3",
    "email_protection": "1.3.6.1.5.5.7.3.4",
    "ipsec_end_system": "1.3.6.1.5.5.7.3.5",
    "ipsec_tunnel": "1.3.6.1.5.5.7.3.6",
    "ipsec_user": "1.3.6.1.5.5.7.3.7",
    "timestamping": "1.3.6.1.5.5.7.3.8",
    "ocsp_signing": "1.3.6.1.5.5.7.3.9",
    "microsoft_server_gated_crypto": "1.3.6.1.4.1.311.10.3.3",
    "netscape_server_gated_crypto": "2.16.840.1.113730.4.1",
    "microsoft_commercial_code_signing": "1.3.6.1.4.1.311.2.1.22",
    "microsoft_kernel_code_signing": "1.3.6.1.4.1.311.61.1.1",
}
# Go's pkix.Name.ToRDNSequence order, by the SDK's subject property names.
SUBJECT_FIELDS = (
    ("country", NameOID.COUNTRY_NAME),
    ("organization", NameOID.ORGANIZATION_NAME),
    ("organizationalUnit", NameOID.ORGANIZATIONAL_UNIT_NAME),
    ("locality", NameOID.LOCALITY_NAME),
    ("province", NameOID.STATE_OR_PROVINCE_NAME),
    ("streetAddresses", NameOID.STREET_ADDRESS),
    ("postalCode", NameOID.POSTAL_CODE),
    ("serialNumber", NameOID.SERIAL_NUMBER),
    ("commonName", NameOID.COMMON_NAME),
    ("emailAddress", NameOID.EMAIL_ADDRESS),
)


def new_key(algorithm: str, curve: str, bits: int) -> PrivateKey:
    if algorithm == "RSA":
        return rsa.generate_private_key(public_exponent=65537, key_size=bits)
    if algorithm == "ECDSA":
        return ec.generate_private_key(CURVES[curve]())
    if algorithm == "ED25519":
        return ed25519.Ed25519PrivateKey.generate()
    raise ValueError(f"unsupported algorithm {algorithm!r}")


def load_key(pem: str) -> tuple[PrivateKey, str]:
    """The private key of a PEM and its algorithm name, as `parsePrivateKeyPEM` reports it."""
    key = serialization.load_pem_private_key(pem.encode(), password=None)
    if isinstance(key, rsa.RSAPrivateKey):
        return key, "RSA"
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return key, "ECDSA"
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return key, "ED25519"
    raise ValueError(f"unsupported private key type {type(key).__name__}")


def key_outputs(key: PrivateKey) -> dict[str, str]:
    """PrivateKey's computed outputs, by the SDK's names."""
    traditional = (
        serialization.PrivateFormat.PKCS8
        if isinstance(key, ed25519.Ed25519PrivateKey)
        else serialization.PrivateFormat.TraditionalOpenSSL
    )
    none = serialization.NoEncryption()
    pem = serialization.Encoding.PEM
    public = key.public_key()
    der = public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    out = {
        "privateKeyPem": key.private_bytes(pem, traditional, none).decode(),
        "privateKeyPemPkcs8": key.private_bytes(
            pem, serialization.PrivateFormat.PKCS8, none
        ).decode(),
        "publicKeyPem": public.public_bytes(
            pem, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode(),
        "id": hashlib.sha1(der).hexdigest(),
        # ECDSA P-224 has no OpenSSH form: the real provider leaves these empty.
        "privateKeyOpenssh": "",
        "publicKeyOpenssh": "",
        "publicKeyFingerprintMd5": "",
        "publicKeyFingerprintSha256": "",
    }
    if isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(key.curve, ec.SECP224R1):
        return out
    ssh_public = public.public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    ).decode()
    blob = base64.b64decode(ssh_public.split()[1])
    md5 = hashlib.md5(blob).hexdigest()
    sha256 = base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")
    out |= {
        "privateKeyOpenssh": key.private_bytes(
            pem, serialization.PrivateFormat.OpenSSH, none
        ).decode(),
        "publicKeyOpenssh": ssh_public + "\n",
        "publicKeyFingerprintMd5": ":".join(md5[i : i + 2] for i in range(0, len(md5), 2)),
        "publicKeyFingerprintSha256": f"SHA256:{sha256}",
    }
    return out


def signature_hash(key: PrivateKey) -> hashes.HashAlgorithm | None:
    """Go's signingParamsForKey: SHA-256, SHA-384 for P-384, SHA-512 for P-521, none for Ed25519."""
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return None
    if isinstance(key, ec.EllipticCurvePrivateKey):
        if isinstance(key.curve, ec.SECP384R1):
            return hashes.SHA384()
        if isinstance(key.curve, ec.SECP521R1):
            return hashes.SHA512()
    return hashes.SHA256()


def subject_name(subject: dict[str, Any] | None) -> x509.Name:
    attributes = []
    for field, oid in SUBJECT_FIELDS:
        value = (subject or {}).get(field)
        for item in value if isinstance(value, list) else [value] if value else []:
            attributes.append(x509.NameAttribute(oid, str(item)))
    return x509.Name(attributes)


def alternative_names(inputs: dict[str, Any]) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = [x509.DNSName(n) for n in inputs.get("dnsNames") or []]
    names += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in inputs.get("ipAddresses") or []]
    names += [x509.UniformResourceIdentifier(u) for u in inputs.get("uris") or []]
    return names


def cert_request(key: PrivateKey, inputs: dict[str, Any]) -> x509.CertificateSigningRequest:
    builder = x509.CertificateSigningRequestBuilder().subject_name(
        subject_name(inputs.get("subject"))
    )
    names = alternative_names(inputs)
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return builder.sign(key, signature_hash(key))  # type: ignore[arg-type]


@dataclass(frozen=True)
class Issued:
    """A certificate made by `issue`, and its state fields."""

    certificate: x509.Certificate
    start: datetime
    end: datetime

    @property
    def outputs(self) -> dict[str, Any]:
        return {
            "certPem": self.certificate.public_bytes(serialization.Encoding.PEM).decode(),
            "validityStartTime": rfc3339(self.start),
            "validityEndTime": rfc3339(self.end),
            "readyForRenewal": False,
            "id": str(self.certificate.serial_number),
        }


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_rfc3339(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def issue(
    *,
    subject: x509.Name,
    public_key: Any,
    names: list[x509.GeneralName],
    issuer: x509.Certificate | None,
    signer: PrivateKey,
    inputs: dict[str, Any],
) -> Issued:
    """A certificate as `createCertificate` makes it; self-signed when `issuer` is None."""
    start = datetime.now(UTC).replace(microsecond=0)
    end = start + timedelta(hours=int(inputs["validityPeriodHours"]))
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.subject if issuer else subject)
        .public_key(public_key)
        .serial_number(secrets.randbits(128) or 1)
        .not_valid_before(start)
        .not_valid_after(end)
    )
    if names:
        builder = builder.add_extension(
            x509.SubjectAlternativeName(names), critical=len(subject) == 0
        )
    uses = list(inputs.get("allowedUses") or [])
    flags = {arg: any(KEY_USAGES.get(u) == arg for u in uses) for arg in KEY_USAGES.values()}
    if any(flags.values()):
        builder = builder.add_extension(x509.KeyUsage(**flags), critical=True)
    extended = [ObjectIdentifier(EXTENDED_KEY_USAGES[u]) for u in uses if u in EXTENDED_KEY_USAGES]
    if extended:
        builder = builder.add_extension(x509.ExtendedKeyUsage(extended), critical=False)
    is_ca = bool(inputs.get("isCaCertificate"))
    if is_ca and len(subject) == 0:
        raise ValueError(
            "Must contain at least one Distinguished Name when creating Certificate Authority (CA)"
        )
    max_path = int(inputs.get("maxPathLength", -1))
    # Go's MaxPathLen: 0 without MaxPathLenZero, like -1, means no limit.
    path_length = max_path if is_ca and max_path > 0 else None
    builder = builder.add_extension(x509.BasicConstraints(is_ca, path_length), critical=True)
    own_key_id = x509.SubjectKeyIdentifier.from_public_key(public_key)
    if is_ca or inputs.get("setSubjectKeyId"):
        builder = builder.add_extension(own_key_id, critical=False)
    if issuer is not None:
        # Go takes the authority key id from the parent's subject key id when it has one.
        try:
            issuer_key_id = issuer.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
        except x509.ExtensionNotFound:
            issuer_key_id = None
        if issuer_key_id is not None:
            builder = builder.add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(issuer_key_id.value),
                critical=False,
            )
    elif inputs.get("setAuthorityKeyId"):
        if not (is_ca or inputs.get("setSubjectKeyId")):
            raise ValueError("Could not determine Authority Key Identifier")
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(own_key_id),
            critical=False,
        )
    certificate = builder.sign(signer, signature_hash(signer))  # type: ignore[arg-type]
    return Issued(certificate, start, end)
