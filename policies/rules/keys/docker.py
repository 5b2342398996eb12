"""Docker key rules: the stage's own CA and certificates use strong keys, and generated
passwords are long enough."""

from __future__ import annotations

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity

from ..graph import number
from ..rule import RuleSet, checkov

RULES = RuleSet("keys", substrate="docker")

PRIVATE_KEY = "tls:index/privateKey:PrivateKey"
PASSWORD = "random:index/randomPassword:RandomPassword"
MIN_RSA_BITS = 2048  # NIST SP 800-57 part 1: 112-bit security through 2030
STRONG_CURVES = {"P256", "P384", "P521"}
MIN_PASSWORD_LENGTH = 24


@RULES.resource(
    "docker-tls-privatekey-strong",
    types=(PRIVATE_KEY,),
    description="Keys of the stage's CA and certificates are ECDSA P-256 or stronger, or RSA of"
    " at least 2048 bits.",
    severity=Severity.HIGH,
    remediation="Use algorithm ECDSA with ecdsaCurve P256 (components/docker/keys.py).",
)
def docker_tls_privatekey_strong(args: ResourceValidationArgs, report: ReportViolation) -> None:
    algorithm = str(args.props.get("algorithm", "RSA"))
    if algorithm == "RSA":
        bits = number(args.props.get("rsaBits") or 2048)
        if bits < MIN_RSA_BITS:
            report(f"RSA key of {bits} bits", None)
    elif algorithm == "ECDSA":
        curve = str(args.props.get("ecdsaCurve") or "P224")
        if curve not in STRONG_CURVES:
            report(f"ECDSA curve {curve}", None)
    elif algorithm != "ED25519":
        report(f"algorithm {algorithm}", None)


@RULES.resource(
    "docker-random-password-length",
    types=(PASSWORD,),
    description="Generated passwords have at least 24 characters.",
    severity=Severity.MEDIUM,
    remediation="Raise length on the random.RandomPassword (components/docker use 32 or 40).",
    references=(checkov("CKV_SECRET_6"),),
)
def docker_random_password_length(args: ResourceValidationArgs, report: ReportViolation) -> None:
    length = number(args.props.get("length") or 0)
    if length < MIN_PASSWORD_LENGTH:
        report(f"length is {length}, at least {MIN_PASSWORD_LENGTH} expected", None)
