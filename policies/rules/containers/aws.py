"""AWS container rules: images pinned by digest from the stage's own registry, secrets only by
reference, no privileged containers (nor dangerous capabilities or host namespaces), an
unprivileged user, read-only root filesystems, logs to the stage's log groups, Container
Insights."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity, StackValidationArgs

from ..graph import as_list, document, names, of_type
from ..rule import RuleSet, checkov
from ..secrets import has_url_credentials, is_secret_name

RULES = RuleSet("containers", substrate="aws")

TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition"
CLUSTER = "aws:ecs/cluster:Cluster"
REPOSITORY = "aws:ecr/repository:Repository"
IMAGE = re.compile(
    r"^(?P<host>\d{12}\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com)/"
    r"(?P<repository>[a-z0-9._/-]+)@sha256:[0-9a-f]{64}$"
)
# Registry host and repository of any reference (digest or tag); pinning is the other rule's job.
REPOSITORY_OF = re.compile(r"^[^/]+/(?P<repository>[^@:]+)")
SECRET_REFERENCE = re.compile(r"^arn:aws[a-z-]*:(secretsmanager|ssm):")
# Capabilities that reach past the container (the same list the Docker pack refuses).
DANGEROUS_CAPABILITIES = frozenset(
    {"ALL", "SYS_ADMIN", "SYS_MODULE", "SYS_PTRACE", "SYS_RAWIO", "NET_ADMIN", "NET_RAW", "BPF"}
)


def containers(props: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """The container definitions of a task definition (a JSON string in the engine)."""
    for container in as_list(document(props.get("containerDefinitions"))):
        if isinstance(container, Mapping):
            yield container


@RULES.resource(
    "aws-ecs-taskdefinition-image-pinned-by-digest",
    types=(TASK_DEFINITION,),
    description="Container images are pinned by @sha256 digest in a private ECR registry of"
    " the stage's region.",
    severity=Severity.HIGH,
    remediation="Reference images as <account>.dkr.ecr.<region>.amazonaws.com/<repo>@sha256:"
    "<digest> (the release's digests, copied into the stage's registry); never by tag.",
)
def aws_ecs_taskdefinition_image_pinned_by_digest(
    args: ResourceValidationArgs, report: ReportViolation
) -> None:
    region = args.provider.props.get("region") if args.provider is not None else None
    for container in containers(args.props):
        image, name = str(container.get("image", "")), container.get("name")
        match = IMAGE.match(image)
        if match is None:
            report(f"container {name}: image {image} is not an ECR image pinned by digest", None)
        elif region and match["region"] != region:
            report(f"container {name}: image comes from {match['region']}, not {region}", None)


@RULES.stack(
    "aws-ecs-taskdefinition-image-from-stage-registry",
    description="Every container image comes from a repository of the stage's own registry.",
    severity=Severity.HIGH,
    remediation="Promote a release by copying its digests into this stage's ECR repositories"
    " (<project>:aws:Registry) and run them from there.",
)
def aws_ecs_taskdefinition_image_from_stage_registry(
    args: StackValidationArgs, report: ReportViolation
) -> None:
    repositories = list(of_type(args.resources, REPOSITORY))
    for task in of_type(args.resources, TASK_DEFINITION):
        for container in containers(task.props):
            match = REPOSITORY_OF.match(str(container.get("image", "")))
            repository = match["repository"] if match else None
            if not any(names(r, repository) for r in repositories):
                report(
                    f"container {container.get('name')}: {container.get('image')} is not in a"
                    " repository of this stack",
                    task.urn,
                )


@RULES.resource(
    "aws-ecs-taskdefinition-secrets-by-reference",
    types=(TASK_DEFINITION,),
    description="Secrets reach containers only as references (secrets[].valueFrom), never as"
    " plain environment values.",
    severity=Severity.CRITICAL,
    remediation="Move the value to Secrets Manager or SSM Parameter Store and list it under"
    " the container's secrets with valueFrom set to its ARN.",
)
def aws_ecs_taskdefinition_secrets_by_reference(
    args: ResourceValidationArgs, report: ReportViolation
) -> None:
    for container in containers(args.props):
        name = container.get("name")
        for variable in as_list(container.get("environment")):
            if is_secret_name(str(variable.get("name", ""))):
                report(
                    f"container {name}: {variable.get('name')} is a plain environment value", None
                )
            elif has_url_credentials(str(variable.get("value", ""))):
                report(
                    f"container {name}: {variable.get('name')} embeds credentials in a URL", None
                )
        for secret in as_list(container.get("secrets")):
            if not SECRET_REFERENCE.match(str(secret.get("valueFrom", ""))):
                report(
                    f"container {name}: secret {secret.get('name')} is not an ARN reference", None
                )


@RULES.resource(
    "aws-ecs-taskdefinition-disallow-privileged",
    types=(TASK_DEFINITION,),
    description="Containers do not run privileged, add no capability that reaches past the"
    " container, and share no host namespace (pidMode, ipcMode host).",
    severity=Severity.HIGH,
    remediation="Remove privileged: true, linuxParameters.capabilities.add and pidMode/ipcMode"
    " host; grant a narrow capability only if one is needed.",
    references=(checkov("CKV_AWS_334"), checkov("CKV_AWS_335")),
)
def aws_ecs_taskdefinition_disallow_privileged(
    args: ResourceValidationArgs, report: ReportViolation
) -> None:
    for key in ("pidMode", "ipcMode"):
        if args.props.get(key) == "host":
            report(f"{key} is host: the task shares the host's namespace", None)
    for container in containers(args.props):
        if container.get("privileged") is True:
            report(f"container {container.get('name')} is privileged", None)
        linux = container.get("linuxParameters") or {}
        added = {
            str(c).upper().removeprefix("CAP_")
            for c in as_list((linux.get("capabilities") or {}).get("add"))
        }
        if added & DANGEROUS_CAPABILITIES:
            granted = ", ".join(sorted(added & DANGEROUS_CAPABILITIES))
            report(f"container {container.get('name')} adds {granted}", None)


@RULES.resource(
    "aws-ecs-taskdefinition-readonly-root-filesystem",
    types=(TASK_DEFINITION,),
    description="Containers mount their root filesystem read-only.",
    severity=Severity.MEDIUM,
    remediation="Set readonlyRootFilesystem: true and mount a volume for paths the service"
    " writes to.",
    references=(checkov("CKV_AWS_336"),),
    stage_advisory=True,
)
def aws_ecs_taskdefinition_readonly_root_filesystem(
    args: ResourceValidationArgs, report: ReportViolation
) -> None:
    for container in containers(args.props):
        if container.get("readonlyRootFilesystem") is not True:
            report(f"container {container.get('name')} has a writable root filesystem", None)


@RULES.resource(
    "aws-ecs-cluster-container-insights",
    types=(CLUSTER,),
    description="ECS clusters have Container Insights enabled.",
    severity=Severity.LOW,
    remediation="Add the cluster setting {name: containerInsights, value: enabled}.",
    references=(checkov("CKV_AWS_65"),),
    stage_advisory=True,
)
def aws_ecs_cluster_container_insights(
    args: ResourceValidationArgs, report: ReportViolation
) -> None:
    settings = {s.get("name"): s.get("value") for s in as_list(args.props.get("settings"))}
    if settings.get("containerInsights") not in ("enabled", "enhanced"):
        report("the containerInsights setting is not enabled", None)


@RULES.resource(
    "aws-ecs-taskdefinition-non-root-user",
    types=(TASK_DEFINITION,),
    description="Every container names an unprivileged user (not root, not uid 0).",
    severity=Severity.HIGH,
    remediation="Set user to the service's unprivileged uid (components/aws/services.py uses"
    " 10001).",
)
def aws_ecs_taskdefinition_non_root_user(
    args: ResourceValidationArgs, report: ReportViolation
) -> None:
    for container in containers(args.props):
        user = str(container.get("user") or "")
        if not user:
            report(f"container {container.get('name')} runs as the image's default user", None)
        elif user.split(":", 1)[0] in ("root", "0"):
            report(f"container {container.get('name')} runs as {user}", None)


@RULES.resource(
    "aws-ecs-taskdefinition-logging",
    types=(TASK_DEFINITION,),
    description="Every container sends its logs to a CloudWatch log group (awslogs), where the"
    " stage keeps and encrypts them.",
    severity=Severity.MEDIUM,
    remediation="Set logConfiguration to the awslogs driver with the service's log group"
    " (components/aws/services.py).",
)
def aws_ecs_taskdefinition_logging(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for container in containers(args.props):
        logging = container.get("logConfiguration") or {}
        options = logging.get("options") or {}
        if logging.get("logDriver") != "awslogs" or not options.get("awslogs-group"):
            driver = logging.get("logDriver") or "none"
            report(f"container {container.get('name')} logs with {driver}, not awslogs", None)
