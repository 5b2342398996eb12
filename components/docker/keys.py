"""Keys role on Docker: the stage's own certificate authority, which signs the TLS certificates
of the proxy, the database and object storage. There is no KMS on one host: app secrets are
files mounted into the services (``/run/<project>``), never plain env values."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_tls as tls

from components import project
from components.docker.context import (
    DATABASE_HOST,
    SERVICE_FILES_DIR,
    STORAGE_HOST,
    DockerContext,
    child,
)
from components.roles import role_token

# Local certificates: renewed by `pulumi up` a month before they expire.
_CA_HOURS = 24 * 365 * 5
_CERT_HOURS = 24 * 365
_RENEW_HOURS = 24 * 30


@dataclass(frozen=True)
class Certificate:
    """A server certificate signed by the stage CA; the key stays a secret Output."""

    cert_pem: pulumi.Output[str]
    key_pem: pulumi.Output[str]


def app_secret_path(secret_name: str) -> str:
    return f"{SERVICE_FILES_DIR}/app-{secret_name.lower()}"


class Keys(pulumi.ComponentResource):
    key_id: pulumi.Output[str]
    secret_ids: dict[str, pulumi.Output[str]]
    ca_cert_pem: pulumi.Output[str]
    certificates: dict[str, Certificate]

    def __init__(self, name: str, ctx: DockerContext, parent: pulumi.Resource) -> None:
        super().__init__(role_token("docker", "Keys"), name, None, child(parent))
        self._name = name
        self._ca_key = tls.PrivateKey(
            f"{name}-ca-key", algorithm="ECDSA", ecdsa_curve="P256", opts=child(self)
        )
        self._ca = tls.SelfSignedCert(
            f"{name}-ca",
            private_key_pem=self._ca_key.private_key_pem,
            is_ca_certificate=True,
            validity_period_hours=_CA_HOURS,
            early_renewal_hours=_RENEW_HOURS,
            allowed_uses=["cert_signing", "crl_signing", "digital_signature"],
            subject=tls.SelfSignedCertSubjectArgs(
                common_name=f"{project.name()} {ctx.spec.identity.stage} local CA",
                organization=ctx.spec.identity.project,
            ),
            opts=child(self),
        )
        self.ca_cert_pem = self._ca.cert_pem
        self.key_id = self._ca_key.id
        # Where each app secret is mounted: the services role writes them there.
        self.secret_ids = {
            s: pulumi.Output.from_input(app_secret_path(s)) for s in ctx.spec.secret_keys
        }
        domain = ctx.spec.identity.domain
        # Server certificates, by the name each endpoint answers under.
        self.certificates = {
            "proxy": self._certificate("proxy", [domain, f"*.{domain}"]),
            "database": self._certificate("database", [DATABASE_HOST]),
            "storage": self._certificate("storage", [STORAGE_HOST, "localhost"]),
        }
        self.register_outputs({"keyId": self.key_id, "secretIds": self.secret_ids})

    def _certificate(self, suffix: str, dns_names: Sequence[str]) -> Certificate:
        """A server certificate for ``dns_names``, signed by the stage CA."""
        name = f"{self._name}-{suffix}"
        key = tls.PrivateKey(f"{name}-key", algorithm="ECDSA", ecdsa_curve="P256", opts=child(self))
        request = tls.CertRequest(
            f"{name}-csr",
            private_key_pem=key.private_key_pem,
            dns_names=list(dns_names),
            subject=tls.CertRequestSubjectArgs(common_name=dns_names[0]),
            opts=child(self),
        )
        cert = tls.LocallySignedCert(
            f"{name}-cert",
            cert_request_pem=request.cert_request_pem,
            ca_cert_pem=self._ca.cert_pem,
            ca_private_key_pem=self._ca_key.private_key_pem,
            validity_period_hours=_CERT_HOURS,
            early_renewal_hours=_RENEW_HOURS,
            allowed_uses=["digital_signature", "key_encipherment", "server_auth"],
            opts=child(self),
        )
        return Certificate(cert.cert_pem, pulumi.Output.secret(key.private_key_pem))
