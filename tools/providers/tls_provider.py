"""Our own `tls` provider plugin (pulumi-tls 5.6.2), doing the real work with `cryptography`.

PrivateKey, CertRequest, SelfSignedCert and LocallySignedCert (tls_x509.py makes the keys and
certificates). Defaults and replacement, from hashicorp/terraform-provider-tls
`internal/provider/resource_*.go` (the schemas pulumi-tls 5.x bridges):

- PrivateKey: `ecdsaCurve` P224, `rsaBits` 2048; every input RequiresReplace;
- CertRequest: every input RequiresReplace (`privateKeyPem` where the stored value is a PEM:
  requireReplaceIfStateContainsPEMString in `util.go`);
- SelfSignedCert: `earlyRenewalHours` 0, `isCaCertificate`, `setSubjectKeyId`,
  `setAuthorityKeyId` false, `maxPathLength` -1; every input replaces except
  `earlyRenewalHours` and `maxPathLength` (no plan modifier: changed in place, in state only);
- LocallySignedCert: the same, without `setAuthorityKeyId`; `certRequestPem`, `caCertPem` and
  `caPrivateKeyPem` replace where the stored value is a PEM;
- both certificates: once now >= `validityEndTime` - `earlyRenewalHours` (the planned value),
  `readyForRenewal` forces a replacement (modifyPlanIfCertificateReadyForRenewal in
  `common_cert.go`), and Read sets it true (modifyStateIfCertificateReadyForRenewal).

The write-only `*PemWo` inputs are refused: this double has no write-only support.

Usage (what the installed plugin executable runs): tls_provider.py [ENGINE_ADDRESS].
"""

from __future__ import annotations

import hashlib
import re
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from tools.providers import tls_x509
from tools.providers.wire import (
    InputRefusedError,
    Kind,
    Props,
    Provider,
    known,
    plugin_version,
    serve,
)

PRIVATE_KEY = "tls:index/privateKey:PrivateKey"
CERT_REQUEST = "tls:index/certRequest:CertRequest"
SELF_SIGNED = "tls:index/selfSignedCert:SelfSignedCert"
LOCALLY_SIGNED = "tls:index/locallySignedCert:LocallySignedCert"

# util.go requireReplaceIfStateContainsPEMString.
PEM = re.compile(r"^-----BEGIN [A-Za-z ]+-----\n(.|\s)+\n-----END [A-Za-z ]+-----\n?$")


def _refuse_write_only(inputs: Props) -> None:
    for key in inputs:
        if key.endswith(("PemWo", "PemWoVersion")):
            raise InputRefusedError(key, "write-only inputs are not supported by this double")


def _require(inputs: Props, *keys: str) -> None:
    for key in keys:
        if inputs.get(key) is None:
            raise InputRefusedError(key, f"missing required property '{key}'")


def _one_of(inputs: Props, key: str, allowed: tuple[str, ...]) -> None:
    value = inputs.get(key)
    if value is not None and known(value) and value not in allowed:
        raise InputRefusedError(key, f"must be one of {', '.join(allowed)}, got {value!r}")


@dataclass(frozen=True)
class ReplacingKind(Kind):
    """A kind whose inputs all replace, except `in_place`; `pem_inputs` only if stored as PEM."""

    in_place: frozenset[str] = frozenset()
    pem_inputs: frozenset[str] = frozenset()

    def replaces(self, state: Props, news: Props, changed: list[str]) -> list[str]:
        forcing = []
        for key in changed:
            if key in self.in_place:
                continue
            if key in self.pem_inputs and not PEM.match(str(state.get(key) or "")):
                continue
            forcing.append(key)
        return forcing


@dataclass(frozen=True)
class PrivateKey(ReplacingKind):
    token: str = PRIVATE_KEY
    sensitive: frozenset[str] = frozenset(
        {"privateKeyPem", "privateKeyOpenssh", "privateKeyPemPkcs8"}
    )

    def defaults(self, inputs: Props) -> Props:
        return {"ecdsaCurve": "P224", "rsaBits": 2048, **_present(inputs)}

    def check(self, inputs: Props) -> None:
        _require(inputs, "algorithm")
        _one_of(inputs, "algorithm", tls_x509.ALGORITHMS)
        _one_of(inputs, "ecdsaCurve", tuple(tls_x509.CURVES))

    def create(self, inputs: Props) -> tuple[str, Props]:
        key = tls_x509.new_key(inputs["algorithm"], inputs["ecdsaCurve"], int(inputs["rsaBits"]))
        outputs = tls_x509.key_outputs(key)
        return outputs["id"], outputs


@dataclass(frozen=True)
class CertRequest(ReplacingKind):
    token: str = CERT_REQUEST
    sensitive: frozenset[str] = frozenset({"privateKeyPem"})
    pem_inputs: frozenset[str] = frozenset({"privateKeyPem"})

    def check(self, inputs: Props) -> None:
        _refuse_write_only(inputs)
        _require(inputs, "privateKeyPem")

    def create(self, inputs: Props) -> tuple[str, Props]:
        key, algorithm = tls_x509.load_key(inputs["privateKeyPem"])
        request = tls_x509.cert_request(key, inputs)
        der = request.public_bytes(serialization.Encoding.DER)
        resource_id = hashlib.sha1(der).hexdigest()
        pem = request.public_bytes(serialization.Encoding.PEM).decode()
        return resource_id, {"certRequestPem": pem, "keyAlgorithm": algorithm, "id": resource_id}


def _present(inputs: Props) -> Props:
    return {k: v for k, v in inputs.items() if v is not None}


def _allowed_uses(inputs: Props) -> None:
    uses = inputs.get("allowedUses")
    if not known(uses):
        return
    supported = set(tls_x509.KEY_USAGES) | set(tls_x509.EXTENDED_KEY_USAGES)
    for use in uses or []:
        if use not in supported:
            raise InputRefusedError("allowedUses", f"unsupported key usage {use!r}")


@dataclass(frozen=True)
class Certificate(ReplacingKind):
    """What the two certificate kinds share: defaults, renewal, in-place fields."""

    in_place: frozenset[str] = frozenset({"earlyRenewalHours", "maxPathLength"})
    base_defaults: tuple[tuple[str, Any], ...] = (
        ("earlyRenewalHours", 0),
        ("isCaCertificate", False),
        ("maxPathLength", -1),
        ("setSubjectKeyId", False),
    )

    def defaults(self, inputs: Props) -> Props:
        return {**dict(self.base_defaults), **_present(inputs)}

    def replaces(self, state: Props, news: Props, changed: list[str]) -> list[str]:
        forcing = super().replaces(state, news, changed)
        if due_for_renewal(state, news.get("earlyRenewalHours", 0)):
            forcing.append("readyForRenewal")
        return forcing

    def read(self, state: Props) -> Props:
        if due_for_renewal(state, state.get("earlyRenewalHours", 0)):
            return {**state, "readyForRenewal": True}
        return state


def due_for_renewal(state: Props, early_hours: Any, now: datetime | None = None) -> bool:
    """True when the stored certificate is ready for (early) renewal."""
    if state.get("readyForRenewal") is True:
        return True
    end = state.get("validityEndTime")
    if not end or not known(end) or not known(early_hours):
        return False
    renew_at = tls_x509.parse_rfc3339(end) - timedelta(hours=int(early_hours or 0))
    return (now or datetime.now(UTC)) >= renew_at


@dataclass(frozen=True)
class SelfSignedCert(Certificate):
    token: str = SELF_SIGNED
    sensitive: frozenset[str] = frozenset({"privateKeyPem"})
    pem_inputs: frozenset[str] = frozenset({"privateKeyPem"})
    base_defaults: tuple[tuple[str, Any], ...] = (
        *Certificate.base_defaults,
        ("setAuthorityKeyId", False),
    )

    def check(self, inputs: Props) -> None:
        _refuse_write_only(inputs)
        _require(inputs, "privateKeyPem", "validityPeriodHours", "allowedUses")
        _allowed_uses(inputs)

    def create(self, inputs: Props) -> tuple[str, Props]:
        key, algorithm = tls_x509.load_key(inputs["privateKeyPem"])
        issued = tls_x509.issue(
            subject=tls_x509.subject_name(inputs.get("subject")),
            public_key=key.public_key(),
            names=tls_x509.alternative_names(inputs),
            issuer=None,
            signer=key,
            inputs=inputs,
        )
        outputs = {**issued.outputs, "keyAlgorithm": algorithm}
        return outputs["id"], outputs


@dataclass(frozen=True)
class LocallySignedCert(Certificate):
    token: str = LOCALLY_SIGNED
    sensitive: frozenset[str] = frozenset({"caPrivateKeyPem"})
    pem_inputs: frozenset[str] = frozenset({"certRequestPem", "caCertPem", "caPrivateKeyPem"})

    def check(self, inputs: Props) -> None:
        _refuse_write_only(inputs)
        _require(
            inputs,
            "certRequestPem",
            "caCertPem",
            "caPrivateKeyPem",
            "validityPeriodHours",
            "allowedUses",
        )
        _allowed_uses(inputs)

    def create(self, inputs: Props) -> tuple[str, Props]:
        request = x509.load_pem_x509_csr(inputs["certRequestPem"].encode())
        ca_key, algorithm = tls_x509.load_key(inputs["caPrivateKeyPem"])
        ca_cert = x509.load_pem_x509_certificate(inputs["caCertPem"].encode())
        try:
            names = list(
                request.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
            )
        except x509.ExtensionNotFound:
            names = []
        issued = tls_x509.issue(
            subject=request.subject,
            public_key=request.public_key(),
            names=names,
            issuer=ca_cert,
            signer=ca_key,
            inputs=inputs,
        )
        outputs = {**issued.outputs, "caKeyAlgorithm": algorithm}
        return outputs["id"], outputs


KINDS: list[Kind] = [PrivateKey(), CertRequest(), SelfSignedCert(), LocallySignedCert()]


def provider() -> Provider:
    return Provider("tls", plugin_version("pulumi_tls"), KINDS)


if __name__ == "__main__":
    serve(provider())
