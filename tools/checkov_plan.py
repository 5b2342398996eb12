"""Turn an AWS stage's offline render into the Terraform plan JSON that Checkov reads.

pulumi-aws bridges the Terraform AWS provider, so each resource has a Terraform twin: the type
token ``aws:<module>/<camelName>:<Name>`` is ``aws_<module>_<snake_name>``, except where the
bridge's module table (pulumi-aws ``provider/resources.go``) files a Terraform resource under
another module (ec2's ``aws_vpc``, rds's ``aws_db_instance``, lb's ``aws_lb``). Inputs go back
the same way: camelCase to snake_case, an object to a one-element block list, and a list of
objects under the bridge's plural name (``rules``) to its Terraform block name (``rule``).

Values are what the offline renderer's mocks give the resource (inputs plus the outputs a cloud
would compute), and an input equal to another resource's id, ARN or name becomes a reference in
the plan's ``configuration``, which is how Checkov connects a bucket to its lifecycle
configuration, logging or public access block.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

PROVIDER = "registry.terraform.io/hashicorp/aws"
# Terraform resources that pulumi-aws files under a module their name does not start with.
MODULE_PREFIX = {"ec2": "", "rds": "db"}
TYPE_OVERRIDES = {"aws:lb/loadBalancer:LoadBalancer": "aws_lb"}
# Block names the bridge pluralizes irregularly (resources.go / tfbridge's inflector).
PLURALS = {"policies": "policy", "addresses": "address", "statuses": "status"}


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def terraform_type(token: str) -> str | None:
    """The Terraform resource type of a pulumi-aws type token; None for any other package."""
    if token in TYPE_OVERRIDES:
        return TYPE_OVERRIDES[token]
    match = re.fullmatch(r"aws:([a-z0-9]+)/([a-zA-Z0-9]+):[A-Za-z0-9]+", token)
    if not match:
        return None
    module, name = match.groups()
    prefix = MODULE_PREFIX.get(module, module)
    return "_".join(p for p in ("aws", prefix, _snake(name)) if p)


def _singular(key: str) -> str:
    if key in PLURALS:
        return PLURALS[key]
    if key.endswith("ies"):
        return key[:-3] + "y"
    return key[:-1] if key.endswith("s") else key


def terraform_values(value: Any) -> Any:
    """Pulumi-shaped inputs as Terraform attribute values."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, inner in value.items():
            if isinstance(inner, dict) and key != "tags" and not _is_map(key):
                out[_snake(key)] = [terraform_values(inner)]
            elif isinstance(inner, list) and inner and all(isinstance(i, dict) for i in inner):
                out[_singular(_snake(key))] = [terraform_values(i) for i in inner]
            elif key in ("tags",) or _is_map(key):
                out[_snake(key)] = inner
            else:
                out[_snake(key)] = terraform_values(inner)
        return out
    if isinstance(value, list):
        return [terraform_values(v) for v in value]
    return value


def _is_map(key: str) -> bool:
    # Free-form string maps keep their keys (tags, environment variables, parameters).
    return key in {"tags", "tagsAll", "variables", "parameters", "environment"}


def _outputs(resource: dict[str, Any], stack: str, region: str) -> dict[str, Any]:
    """What the offline renderer's mocks answered for this resource (its id among them)."""
    from pipeline.mocks import RESOURCES, Facts

    facts = Facts(stack, region, resource["name"])
    computed = RESOURCES.get(resource["type"])
    outputs = dict(computed(resource["inputs"], facts)) if computed else {}
    outputs.setdefault("id", facts.physical)
    return outputs


def _address(tf_type: str, name: str) -> str:
    return f"{tf_type}.{name}"


def plan(resources: list[dict[str, Any]], stack: str, region: str) -> dict[str, Any]:
    """A Terraform plan (format 1.2) creating every pulumi-aws resource of one render."""
    rows = []
    known: dict[str, str] = {}
    for resource in resources:
        tf_type = terraform_type(resource["type"])
        if not tf_type or not resource.get("custom", True):
            continue
        outputs = _outputs(resource, stack, region)
        address = _address(tf_type, resource["name"])
        for key, value in outputs.items():
            if isinstance(value, str) and len(value) > 6 and key in {"id", "arn", "name", "bucket"}:
                known.setdefault(value, f"{address}.{_snake(key)}")
        rows.append((tf_type, resource, {**resource["inputs"], **outputs}, address))
    planned, changes, configured = [], [], []
    for tf_type, resource, state, address in rows:
        values = terraform_values(state)
        common = {"address": address, "mode": "managed", "type": tf_type, "name": resource["name"]}
        planned.append({**common, "provider_name": PROVIDER, "schema_version": 0, "values": values})
        changes.append(
            {
                **common,
                "provider_name": PROVIDER,
                "change": {"actions": ["create"], "before": None, "after": values},
            }
        )
        expressions = _expressions(resource["inputs"], known, address)
        configured.append({**common, "provider_config_key": "aws", "expressions": expressions})
    return {
        "format_version": "1.2",
        "terraform_version": "1.9.0",
        "planned_values": {"root_module": {"resources": planned}},
        "resource_changes": changes,
        "configuration": {
            "provider_config": {"aws": {"name": "aws", "full_name": PROVIDER}},
            "root_module": {"resources": configured},
        },
    }


def _expressions(inputs: dict[str, Any], known: dict[str, str], own: str) -> dict[str, Any]:
    """Terraform's ``expressions`` for the inputs that refer to other resources; blocks nest."""
    out: dict[str, Any] = {}
    for key, value in inputs.items():
        if isinstance(value, dict) and not _is_map(key):
            inner = _expressions(value, known, own)
            if inner:
                out[_snake(key)] = [inner]
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            blocks = [_expressions(v, known, own) for v in value]
            if any(blocks):
                out[_singular(_snake(key))] = blocks
        else:
            refs = _references(value, known, own)
            if refs:
                out[_snake(key)] = {"references": refs}
    return out


def _references(value: Any, known: dict[str, str], own: str) -> list[str]:
    """Terraform's references for a value: ``type.name.attr`` then ``type.name``."""
    found: list[str] = []
    strings = value if isinstance(value, list) else [value]
    for item in strings:
        target = known.get(item) if isinstance(item, str) else None
        if target and not target.startswith(own + "."):
            found += [target, target.rsplit(".", 1)[0]]
    return found


def main(argv: list[str]) -> int:
    """``tools/checkov_plan.py OUT_DIR [STACK...]``: render the stacks (default: every AWS stage)
    offline and write ``OUT_DIR/<stack>.json`` for ``checkov -f``."""
    root = Path(__file__).resolve().parents[1]
    sys.path.insert(0, str(root))
    from components.project import key
    from components.spec import read_stack
    from pipeline.render import render_stages
    from pipeline.stages import load_stages

    if not argv:
        print("usage: tools/checkov_plan.py OUT_DIR [STACK...]", file=sys.stderr)
        return 2
    out, stacks_dir = Path(argv[0]), root / "stacks"
    stacks = argv[1:] or sorted(
        name
        for name in (p.name[len("Pulumi.") : -len(".yaml")] for p in stacks_dir.glob("Pulumi.*"))
        if read_stack(stacks_dir, name).values.get(key("cloud"), "aws") == "aws"
    )
    stages = load_stages(stacks_dir, stacks)
    out.mkdir(parents=True, exist_ok=True)
    for stack, render in render_stages(root, stages.configs.values()).items():
        if render.error:
            print(f"{stack}: {render.error}", file=sys.stderr)
            return 2
        region = stages.configs[stack].region
        (out / f"{stack}.json").write_text(json.dumps(plan(render.resources, stack, region)))
        print(out / f"{stack}.json")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
