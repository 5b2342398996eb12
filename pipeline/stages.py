"""Load and check the stages a command works on, before anything is rendered or deployed."""

from __future__ import annotations

import difflib
import ipaddress
import json
from dataclasses import dataclass
from pathlib import Path

from components.bindings import glob_match
from components.spec import Problem, SpecError, StackConfig, StageSpec, read_stack
from components.spec.loader import PROJECT
from pipeline.definition import PipelineFile, load_pipeline, unlisted_stack_files
from pipeline.usage import did_you_mean, one_of


@dataclass(frozen=True)
class Stages:
    """The pipeline file and, per selected stack, its config and validated spec."""

    definition: PipelineFile
    configs: dict[str, StackConfig]
    specs: dict[str, StageSpec]


class StagesError(Exception):
    """One or more stack files are invalid; every problem names its file and key."""

    def __init__(self, errors: list[SpecError]) -> None:
        self.errors = errors
        super().__init__("\n".join(str(e) for e in errors))


def _scale_keys(value: object, prefix: str = "") -> list[str]:
    if isinstance(value, dict):
        return [
            k
            for key, item in value.items()
            for k in _scale_keys(item, f"{prefix}.{key}" if prefix else str(key))
        ]
    return [prefix]


def _check_stage(definition: PipelineFile, config: StackConfig) -> list[Problem]:
    """A stack is the stage the pipeline file binds it to: it cannot relabel itself.

    Policy config and live's rules key on ``<project>:stage``, which the stack file sets; so a
    stack file saying ``dev`` for the pipeline's live stack would otherwise plan clean.
    """
    bound = definition.stage_name(config.stack)
    claimed = config.values.get(f"{PROJECT}:stage")
    if bound is None or claimed == bound:
        return []
    return [
        Problem(
            f"{PROJECT}:stage",
            f"expected {bound!r}: the pipeline file (pipeline.yaml) binds stack"
            f" {config.stack!r} to stage {bound!r}, got {claimed!r}",
        )
    ]


def _check_scale_keys(definition: PipelineFile, config: StackConfig) -> list[Problem]:
    raw = config.values.get(f"{PROJECT}:scale")
    if raw is None:
        return []
    allowed = definition.allowed_scale_keys(config.stack)
    problems = []
    for key in _scale_keys(json.loads(raw)):
        if definition.allows(config.stack, key):
            continue
        if any(glob_match(key, p) for p in definition.scale_keys):
            why = (
                "a scale key this stage may not set (stacks/pipeline.yaml: the stage's"
                f" scaleKeys are {list(allowed)})"
            )
        else:
            why = f"unknown scale key{did_you_mean(key, _spelled_out(key, allowed))}"
            why += f" (stacks/pipeline.yaml scaleKeys: {list(allowed)})"
        problems.append(Problem(f"{PROJECT}:scale.{key}", why))
    return problems


def _spelled_out(key: str, patterns: tuple[str, ...]) -> list[str]:
    """The allowed patterns with each ``*`` replaced by the key's own segment there, so
    ``services.api.cpus`` is compared with ``services.api.cpu``, not ``services.*.cpu``."""
    parts = key.split(".")
    out = []
    for pattern in patterns:
        pieces = pattern.split(".")
        if len(pieces) == len(parts):
            out.append(".".join(k if p == "*" else p for p, k in zip(pieces, parts, strict=True)))
        else:
            out.append(pattern)
    return out


def _check_namespaces(config: StackConfig) -> list[Problem]:
    """A key whose namespace looks like the project's but is not (``stagline:scale``) would be
    ignored by the program: refuse it, naming the namespace it probably meant."""
    problems = []
    for key in config.values:
        namespace, colon, rest = key.partition(":")
        if not colon or namespace == PROJECT:
            continue
        close = difflib.get_close_matches(namespace, [PROJECT], n=1, cutoff=0.75)
        if close:
            problems.append(
                Problem(key, f"unknown namespace {namespace!r}; did you mean '{PROJECT}:{rest}'?")
            )
    return problems


def _check_secrets_provider(config: StackConfig, spec: StageSpec) -> list[Problem]:
    """A cloud stage's stack file names the key that encrypts its secrets (docs/secrets.md).
    ``pulumi stack init`` rewrites the file, and when it makes a passphrase stack (no
    ``--secrets-provider`` on a self-managed backend) it drops the line: refuse the file until
    it is back, so a stage's secrets cannot silently move off its cloud's key service. A local
    stage (a substrate without regions: no key service) has only the passphrase, and the CLI
    drops the line from every passphrase stack it writes, so there it may be absent."""
    from components import substrates

    if config.secrets_provider:
        return []
    if substrates.registry()[str(spec.identity.cloud)].region_key is None:
        return []
    return [
        Problem(
            "secretsprovider",
            "missing: the file must name the key that encrypts its secure: values;"
            " `pulumi stack init` drops the line when it makes a passphrase stack: put back"
            " the line the committed file has (`git diff` shows it; docs/secrets.md)",
        )
    ]


def _another_projects(stacks_dir: Path, configs: list[StackConfig]) -> SpecError | None:
    """Every stack file keeps its keys under one other project's name: Pulumi.yaml was renamed
    and the stack files were not moved (what ``adopt`` does). One error that says so, instead of
    one "got None" per key and stack."""
    from components import substrates
    from pipeline.usage import command_name

    foreign: set[str] = set()
    providers = substrates.provider_namespaces()
    for config in configs:
        # Pulumi.yaml's defaults are read under the project's name; the stage never is.
        owners = {
            space
            for space, _, key in (k.partition(":") for k in config.values)
            if key == "stage" and space != PROJECT and space not in providers
        }
        if not owners or f"{PROJECT}:stage" in config.values:
            return None
        foreign |= owners
    if len(foreign) != 1:
        return None
    (other,) = foreign
    return SpecError(
        str(Path(configs[0].source).parent / "Pulumi.*.yaml"),
        [
            Problem(
                f"{other}:*",
                f"every stack file keeps its keys under {other!r}, but Pulumi.yaml names the"
                f" project {PROJECT!r}; run `{command_name()} adopt` to move them into the"
                " project's name (docs/adopt.md)",
            )
        ],
    )


def _docker(spec: StageSpec) -> bool:
    return spec.identity.cloud == "docker"


def _check_cidrs(
    definition: PipelineFile, specs: dict[str, StageSpec], configs: dict[str, StackConfig]
) -> list[SpecError]:
    errors = []
    groups = [
        (f"pipeline {name}", [s.stack for s in pipeline.stages if s.stack in specs])
        for name, pipeline in definition.pipelines.items()
    ]
    # Every Docker stack shares one host, whose engine refuses a network overlapping another.
    groups.append(
        ("one Docker host", [s for _, s in definition.stacks() if s in specs and _docker(specs[s])])
    )
    checked: set[tuple[str, str]] = set()
    for where, stacks in groups:
        for i, first in enumerate(stacks):
            for second in stacks[i + 1 :]:
                if (first, second) in checked:
                    continue
                checked.add((first, second))
                a = ipaddress.IPv4Network(specs[first].identity.cidr)
                b = ipaddress.IPv4Network(specs[second].identity.cidr)
                if a.overlaps(b):
                    errors.append(
                        SpecError(
                            configs[second].source,
                            [
                                Problem(
                                    f"{PROJECT}:cidr",
                                    f"expected a range that does not overlap {first}'s {a} "
                                    f"({where}), got {b}",
                                )
                            ],
                        )
                    )
    return errors


def load_stages(stacks_dir: Path, selected: list[str] | None = None) -> Stages:
    """Read the pipeline file and the selected stacks (default: all); raise StagesError."""
    try:
        definition = load_pipeline(stacks_dir)
    except SpecError as exc:
        raise StagesError([exc]) from None
    unlisted = unlisted_stack_files(stacks_dir, definition)
    if unlisted:
        raise StagesError(unlisted)
    known = [stack for _, stack in definition.stacks()]
    stacks = selected or known
    errors: list[SpecError] = []
    unknown = [s for s in stacks if s not in known]
    if unknown:
        errors.append(
            SpecError(
                str(stacks_dir / "pipeline.yaml"),
                [
                    Problem("pipelines", f"no stack {s!r}; expected one of {one_of(known)}")
                    for s in unknown
                ],
            )
        )
        raise StagesError(errors)
    configs: dict[str, StackConfig] = {}
    specs: dict[str, StageSpec] = {}
    read: dict[str, StackConfig] = {}
    for stack in stacks:
        try:
            read[stack] = read_stack(stacks_dir, stack)
        except SpecError as exc:
            errors.append(exc)
    moved = _another_projects(stacks_dir, list(read.values()))
    if moved is not None:
        raise StagesError([moved])
    for stack, config in read.items():
        try:
            scale_problems = (
                _check_namespaces(config)
                + _check_stage(definition, config)
                + _check_scale_keys(definition, config)
            )
            if scale_problems:
                raise SpecError(config.source, scale_problems)
            specs[stack] = config.spec()
            unnamed = _check_secrets_provider(config, specs[stack])
            if unnamed:
                raise SpecError(config.source, unnamed)
            configs[stack] = config
        except SpecError as exc:
            errors.append(exc)
    # Overlap is checked against every stage of the pipeline, selected or not.
    if not errors:
        others: dict[str, StackConfig] = {}
        other_specs: dict[str, StageSpec] = {}
        for stack in known:
            if stack in configs:
                continue
            try:  # an unselected stack that is itself invalid is reported when it is selected
                others[stack] = read_stack(stacks_dir, stack)
                other_specs[stack] = others[stack].spec()
            except SpecError:
                others.pop(stack, None)
        errors += _check_cidrs(definition, {**other_specs, **specs}, {**others, **configs})
    if errors:
        raise StagesError(errors)
    return Stages(definition, configs, specs)


STACKS_DIR_ENV = "STAGELINE_STACKS_DIR"
"""Where the program finds the pipeline file: set by the offline renderer for the stack files
it renders; under the engine, the project's ``stacks`` directory (Pulumi.yaml stackConfigDir)."""


def program_problems(stacks_dir: Path, stack: str, values: dict[str, str]) -> SpecError | None:
    """What ``load_stages`` refuses about a stack, checked again by the program itself, so a
    ``pulumi up -s live`` by hand holds the stack to its pipeline entry too: the stage it is
    bound to, the project's namespace and the scale keys the stage may set. A stack outside the
    pipeline file (a scratch stack) is not checked."""
    definition = load_pipeline(stacks_dir)
    if definition.stage_name(stack) is None:
        return None
    config = StackConfig(stack, str(stacks_dir / f"Pulumi.{stack}.yaml"), dict(values), ())
    problems = (
        _check_namespaces(config)
        + _check_stage(definition, config)
        + _check_scale_keys(definition, config)
    )
    return SpecError(config.source, problems) if problems else None


def hold_to_pipeline() -> None:
    """In the program: stop with the file and key named when the stack breaks its pipeline
    entry (``program_problems``); the engine shows the message, nothing is declared."""
    import os

    import pulumi

    from components.spec.runtime import current_config

    stacks_dir = Path(os.environ.get(STACKS_DIR_ENV, "stacks"))
    try:
        problem = program_problems(stacks_dir, pulumi.get_stack(), current_config())
    except SpecError as exc:
        problem = exc
    if problem is not None:
        raise pulumi.RunError(f"invalid stage configuration:\n{problem}")
