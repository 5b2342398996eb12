"""AWS load balancing rules: HTTPS only (or a redirect to it), TLS 1.2+, access logs,
invalid headers dropped, deletion protection where the stage asks for it."""

from __future__ import annotations

import re

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity

from ..graph import as_list, number
from ..rule import RuleSet, checkov

RULES = RuleSet("loadbalancing", substrate="aws")

LOAD_BALANCERS = ("aws:lb/loadBalancer:LoadBalancer", "aws:alb/loadBalancer:LoadBalancer")
LISTENERS = ("aws:lb/listener:Listener", "aws:alb/listener:Listener")
# ELB policy names carry their lowest protocol version: TLS13-1-2, TLS-1-2, FS-1-2, ...-1-3.
TLS12_POLICY = re.compile(r"^ELBSecurityPolicy-(TLS13|TLS|FS)-1-[23](-|$)")
ELB_DEFAULT_POLICY = "ELBSecurityPolicy-2016-08"


def _redirects_to_https(args: ResourceValidationArgs) -> bool:
    actions = as_list(args.props.get("defaultActions"))
    return bool(actions) and all(
        a.get("type") == "redirect" and (a.get("redirect") or {}).get("protocol") == "HTTPS"
        for a in actions
    )


@RULES.resource(
    "aws-lb-listener-https-or-redirect",
    types=LISTENERS,
    description="Listeners serve HTTPS (or TLS), or only redirect HTTP to HTTPS.",
    severity=Severity.HIGH,
    remediation="Serve the application on an HTTPS listener with an ACM certificate; make the"
    " port-80 listener's only default action a redirect to HTTPS (HTTP_301).",
    references=(checkov("CKV_AWS_2"),),
)
def aws_lb_listener_https_or_redirect(
    args: ResourceValidationArgs, report: ReportViolation
) -> None:
    protocol = str(args.props.get("protocol", "HTTP")).upper()
    if protocol in ("HTTPS", "TLS"):
        return
    if protocol == "HTTP" and _redirects_to_https(args):
        return
    report(
        f"port {number(args.props.get('port'))} serves {protocol} without redirecting to HTTPS",
        None,
    )


@RULES.resource(
    "aws-lb-listener-tls12-policy",
    types=LISTENERS,
    description="HTTPS and TLS listeners use a security policy with TLS 1.2 or newer only.",
    severity=Severity.HIGH,
    remediation="Set sslPolicy to ELBSecurityPolicy-TLS13-1-2-2021-06 (TLS 1.3 with 1.2"
    " fallback) or another TLS13-1-2/TLS-1-2/FS-1-2 policy.",
    references=(checkov("CKV_AWS_103"),),
)
def aws_lb_listener_tls12_policy(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if str(args.props.get("protocol", "")).upper() not in ("HTTPS", "TLS"):
        return
    policy = args.props.get("sslPolicy") or ELB_DEFAULT_POLICY
    if not TLS12_POLICY.match(policy):
        report(f"sslPolicy {policy} allows protocols older than TLS 1.2", None)


@RULES.resource(
    "aws-lb-loadbalancer-access-logs",
    types=LOAD_BALANCERS,
    description="Load balancers write access logs to S3.",
    severity=Severity.MEDIUM,
    remediation="Set accessLogs {enabled: true, bucket: <log bucket>} with a bucket policy that"
    " lets ELB log delivery write to it.",
    references=(checkov("CKV_AWS_91"),),
)
def aws_lb_loadbalancer_access_logs(args: ResourceValidationArgs, report: ReportViolation) -> None:
    logs = args.props.get("accessLogs") or {}
    if not (logs.get("enabled") is True and logs.get("bucket")):
        report("accessLogs are not enabled with a bucket", None)


@RULES.resource(
    "aws-lb-loadbalancer-drop-invalid-headers",
    types=LOAD_BALANCERS,
    description="Application load balancers drop HTTP headers with invalid names.",
    severity=Severity.LOW,
    remediation="Set dropInvalidHeaderFields to true.",
    references=(checkov("CKV_AWS_131"),),
    stage_advisory=True,
)
def aws_lb_loadbalancer_drop_invalid_headers(
    args: ResourceValidationArgs, report: ReportViolation
) -> None:
    if args.props.get("loadBalancerType", "application") != "application":
        return
    if args.props.get("dropInvalidHeaderFields") is not True:
        report("dropInvalidHeaderFields is not true", None)


@RULES.resource(
    "aws-lb-loadbalancer-deletion-protection",
    types=LOAD_BALANCERS,
    description="Load balancers are protected against deletion (stages that serve users).",
    severity=Severity.MEDIUM,
    remediation="Set <project>:scale.loadBalancerDeletionProtection: true in the stack file"
    " (enableDeletionProtection on the load balancer).",
    references=(checkov("CKV_AWS_150"),),
)
def aws_lb_loadbalancer_deletion_protection(
    args: ResourceValidationArgs, report: ReportViolation
) -> None:
    if args.props.get("enableDeletionProtection") is not True:
        report("enableDeletionProtection is not true", None)
