"""A password, a CA and a server certificate signed by it, as the local stage makes them."""

import pulumi
import pulumi_random as random
import pulumi_tls as tls

config = pulumi.Config()
renew_hours = config.get_int("renewHours") or 1

password = random.RandomPassword(
    "password", length=config.get_int("passwordLength") or 24, special=False, min_numeric=2
)
ca_key = tls.PrivateKey("ca-key", algorithm="ECDSA", ecdsa_curve="P256")
ca = tls.SelfSignedCert(
    "ca",
    private_key_pem=ca_key.private_key_pem,
    is_ca_certificate=True,
    validity_period_hours=48,
    early_renewal_hours=renew_hours,
    allowed_uses=["cert_signing", "crl_signing", "digital_signature"],
    subject=tls.SelfSignedCertSubjectArgs(common_name="e2e local CA", organization="e2e"),
)
server_key = tls.PrivateKey("server-key", algorithm="ECDSA", ecdsa_curve="P256")
request = tls.CertRequest(
    "server-csr",
    private_key_pem=server_key.private_key_pem,
    dns_names=["db.internal", "localhost"],
    subject=tls.CertRequestSubjectArgs(common_name="db.internal"),
)
cert = tls.LocallySignedCert(
    "server-cert",
    cert_request_pem=request.cert_request_pem,
    ca_cert_pem=ca.cert_pem,
    ca_private_key_pem=ca_key.private_key_pem,
    validity_period_hours=24,
    early_renewal_hours=renew_hours,
    allowed_uses=["digital_signature", "key_encipherment", "server_auth"],
)

pulumi.export("password", password.result)
pulumi.export("caCertPem", ca.cert_pem)
pulumi.export("certPem", cert.cert_pem)
pulumi.export("serverPublicKeyPem", server_key.public_key_pem)
