"""``adopt``: make a copy of this blueprint the adopting team's own project.

``pulumi new <this repository>`` copies the files and writes the new name into ``Pulumi.yaml``,
but the stack files it copies still carry the template's config namespace (``stageline:stage``),
which the engine would ignore and the loader refuses. ``adopt`` moves every stack file's project
keys into the namespace ``Pulumi.yaml`` names, fills in what a new project must answer (the
template's config: domain, owner, cost center, region), and regenerates the editor schemas. It
reads and writes the stack files with ruamel.yaml, so their comments and order survive.
"""

from __future__ import annotations

import argparse
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from pipeline import usage

TEMPLATE_ANSWERS = ("domain", "owner", "costCenter")
"""Project keys a new project answers once for every stage (Pulumi.yaml ``template.config``)."""


@dataclass(frozen=True)
class Answers:
    """What the adopting team answers: None leaves a stage's value as the template had it."""

    domain: str | None = None
    owner: str | None = None
    cost_center: str | None = None
    regions: Mapping[str, str] = field(default_factory=dict)
    """substrate name -> region (for the substrate's region key, e.g. ``aws:region``)."""


@dataclass(frozen=True)
class Change:
    """One stack file's edit, for the report."""

    file: Path
    renamed: int
    answered: tuple[str, ...]


def _yaml() -> YAML:
    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.width = 4096  # never fold a long value onto a second line
    return yaml


def _stack_files(stacks_dir: Path) -> list[Path]:
    return sorted(p for p in stacks_dir.glob("Pulumi.*.yaml") if p.is_file())


def _namespace_of(path: Path, config: Mapping[str, Any]) -> str:
    """The project namespace a stack file uses: the one of its ``<namespace>:stage`` key."""
    found = {k.partition(":")[0] for k in config if isinstance(k, str) and k.endswith(":stage")}
    if len(found) != 1:
        raise usage.CommandError(
            f"{path}: config: expected one '<project>:stage' key, found {sorted(found) or 'none'}"
        )
    return found.pop()


def _base_domain(domains: list[str]) -> str | None:
    """The template's domain: the longest dot-suffix the stages' domains share (``.localhost``
    names of the local stage left out), e.g. ``stageline.example.com``."""
    names = [d.split(".") for d in domains if not d.endswith(".localhost")]
    if not names:
        return None
    common: list[str] = []
    for labels in zip(*(reversed(n) for n in names), strict=False):
        if len(set(labels)) != 1:
            break
        common.append(labels[0])
    return ".".join(reversed(common)) or None


def _rename(config: Any, old: str, new: str) -> None:
    """Move ``old:*`` keys to ``new:*`` in place, keeping their position and comments. A key
    already under the new name (an answer ``pulumi new`` wrote) wins over the template's."""
    for key in [k for k in config if str(k).partition(":")[0] == old and ":" in str(k)]:
        target = f"{new}:{str(key).partition(':')[2]}"
        if target in config:
            del config[key]
            continue
        position = list(config).index(key)
        value = config.pop(key)
        config.insert(position, target, value)
        comments = getattr(config, "ca", None)
        if comments is not None and key in comments.items:
            comments.items[target] = comments.items.pop(key)


def _load(path: Path) -> Any:
    try:
        data = _yaml().load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, YAMLError) as exc:
        raise usage.CommandError(f"{path}: cannot read the stack file ({exc})") from None
    config = data.get("config") if isinstance(data, Mapping) else None
    if not isinstance(config, Mapping):
        raise usage.CommandError(f"{path}: config: required, a mapping of keys")
    return data


def adopt(project: str, stacks_dir: Path, answers: Answers) -> list[Change]:
    """Rewrite every stack file under ``stacks_dir`` into ``project``'s namespace with the
    answers applied. Every file is read and checked before the first is written."""
    from components import substrates

    unknown = sorted(set(answers.regions) - set(substrates.names()))
    if unknown:
        raise usage.CommandError(
            f"--region {unknown[0]}=...: unknown substrate"
            f"{usage.did_you_mean(unknown[0], substrates.names())}"
            f" (registered: {', '.join(substrates.names())})"
        )
    files = _stack_files(stacks_dir)
    if not files:
        raise usage.CommandError(f"{stacks_dir}: no stack files (Pulumi.<stack>.yaml)")
    loaded = {path: _load(path) for path in files}
    spaces = {path: _namespace_of(path, data["config"]) for path, data in loaded.items()}
    base = _base_domain(
        [str(d["config"].get(f"{spaces[p]}:domain", "")) for p, d in loaded.items()]
    )
    changes = []
    texts: dict[Path, str] = {}
    for path, data in loaded.items():
        old = spaces[path]
        config = data["config"]
        renamed = sum(1 for k in config if str(k).startswith(f"{old}:")) if old != project else 0
        if old != project:
            _rename(config, old, project)
        answered = _answer(config, project, answers, base)
        cloud = str(config.get(f"{project}:cloud", "aws"))
        region = answers.regions.get(cloud)
        region_key = substrates.get(cloud).region_key if cloud in substrates.names() else None
        if region and region_key:
            config[region_key] = region
            answered += (region_key,)
            provider = str(data.get("secretsprovider", ""))
            if provider.startswith("awskms://") and "region=" in provider:
                # The template's KMS key URL names its region too; the team's key is in theirs.
                data["secretsprovider"] = re.sub(r"region=[^&]*", f"region={region}", provider)
                answered += ("secretsprovider",)
        if renamed or answered:
            out = io.StringIO()
            _yaml().dump(data, out)
            texts[path] = out.getvalue()
            changes.append(Change(path, renamed, answered))
    for path, text in texts.items():
        path.write_text(text, encoding="utf-8")
    return changes


def _answer(config: Any, project: str, answers: Answers, base: str | None) -> tuple[str, ...]:
    answered: list[str] = []
    values = {"owner": answers.owner, "costCenter": answers.cost_center}
    for short, value in values.items():
        if value is not None:
            config[f"{project}:{short}"] = value
            answered.append(f"{project}:{short}")
    if answers.domain is not None:
        key = f"{project}:domain"
        current = str(config.get(key, ""))
        if current.endswith(".localhost"):
            pass  # the local stage answers on loopback names, whatever the team's domain
        elif base and (current == base or current.endswith(f".{base}")):
            config[key] = current[: len(current) - len(base)] + answers.domain
            answered.append(key)
        else:
            config[key] = answers.domain
            answered.append(key)
    return tuple(answered)


def _region(text: str) -> tuple[str, str]:
    substrate, equals, region = text.partition("=")
    if not equals or not substrate or not region:
        raise argparse.ArgumentTypeError(f"expected SUBSTRATE=REGION (aws=eu-west-1), got {text!r}")
    return substrate, region


def _command(args: argparse.Namespace) -> int:
    from components import project
    from components.spec import blueprint
    from components.spec.schema import SCHEMA_FILE, render_schema

    name = project.name()
    stacks_dir = Path(args.stacks_dir)
    answers = Answers(
        domain=args.domain,
        owner=args.owner,
        cost_center=args.cost_center,
        regions=dict(args.region or []),
    )
    changes = adopt(name, stacks_dir, answers)
    for change in changes:
        what = [f"{change.renamed} keys moved to {name}:"] if change.renamed else []
        what += [f"set {', '.join(change.answered)}"] if change.answered else []
        print(f"adopt: {change.file.name}: {'; '.join(what)}")
    # The schemas name the project's keys and title: regenerate them for the new name.
    (stacks_dir / SCHEMA_FILE).write_text(render_schema())
    (project.ROOT / blueprint.SCHEMA_FILE).write_text(blueprint.render_blueprint_schema())
    if not changes:
        print(f"adopt: every stack file already speaks {name}:; nothing to change")
    print("adopt: next: python -m pipeline plan")
    return usage.EXIT_OK


def register(commands: Any) -> None:
    from pipeline.arguments import stacks_dir_option

    command = usage.add_command(
        commands,
        "adopt",
        help="move the stack files into Pulumi.yaml's project name and answer the template",
        description="After `pulumi new` from this repository (or renaming the project in"
        " Pulumi.yaml): move every stack file's keys into the project's namespace, set the"
        " domain, owner, cost center and regions, and regenerate the editor schemas.",
        exits={
            usage.EXIT_OK: "done, or nothing to change",
            usage.EXIT_INVALID: "a stack file cannot be read, or an unknown substrate; nothing"
            " written",
        },
    )
    stacks_dir_option(command, "directory of stack files (default: stacks)")
    command.add_argument(
        "--domain",
        metavar="DOMAIN",
        help="the team's DNS domain: replaces the template's base domain in every stage"
        " (dev.stageline.example.com -> dev.DOMAIN); the local stage keeps its .localhost name",
    )
    command.add_argument("--owner", metavar="TEAM", help="owner tag of every stage")
    command.add_argument("--cost-center", metavar="CODE", help="cost-center tag of every stage")
    command.add_argument(
        "--region",
        type=_region,
        action="append",
        metavar="SUBSTRATE=REGION",
        help="region of every stage on that substrate (repeatable: aws=us-east-1 azure=westeurope)",
    )
    command.set_defaults(func=_command)
