"""The pack's Analyzer service: pulumi-policy's own, with two costs taken out.

pulumi-policy 1.21's servicer (``pulumi_policy.policy._PolicyAnalyzerServicer``) loops over
every policy of the pack for every request and, inside that loop, turns the request's properties
into Python (``MessageToDict`` + ``deserialize_properties`` + the unknown-checking proxy) once per
rule; AnalyzeStack does so for every resource once per stack rule. This subclass keeps its
configuration, enforcement levels, violation reporting and metadata, and changes only which
rules run and how often properties are read:

- a stage runs only the rules of its substrate, the ``<project>:cloud`` value the engine sends in
  ConfigureStack, when that value names a substrate of the pack. When it cannot be established
  (no ConfigureStack, no config, no ``<project>:cloud``: the AWS stages leave it to the stage
  loader's default) the pack fails closed: every resource rule runs (each for its own type
  tokens) and the stack rules of every substrate with a resource in the graph (all of them when
  none is recognised). A value the pack does not know is a mandatory finding of
  ``pulumi-stack-config-substrate-known`` and runs rules as when it is absent;
- a resource rule runs only for the type tokens it declares (``SubstrateResourcePolicy.types``);
- a resource's properties are deserialized once per request and shared by the rules, which read
  them and never change them; a provider's, once per stage (every resource of a package names
  the same default provider);
- a Struct becomes a dict by a direct walk of its fields, the answer ``MessageToDict`` gives
  (same keys in the same order, numbers as floats, NaN and infinity refused) without its
  reflection over descriptors, about a third of the cost;
- the runtime settings upstream applies from the environment on every request are applied once
  per handler thread and stage: the pack's environment does not change while it runs.

The outcome for any rule that runs is what upstream computes; a rule of another substrate or for
other types reported nothing upstream either (its own type filter returned early), except that
an AWS rule no longer looks at an AWS resource on a stage declared Azure.
"""

from __future__ import annotations

import asyncio
import math
import threading
from collections.abc import Mapping, Sequence
from inspect import isawaitable
from types import MappingProxyType
from typing import Any

from pulumi.runtime import proto
from pulumi_policy import policy as upstream
from pulumi_policy.deserialize import deserialize_properties
from pulumi_policy.proxy import UnknownValueError, unknown_checking_proxy

CLOUD_KEY = "cloud"
SUBSTRATE_RULE = "pulumi-stack-config-substrate-known"


def declared_substrate(config: Mapping[str, str], project: str) -> str | None:
    """The ``<project>:cloud`` value of the stack config the engine sent; None when absent."""
    return config.get(f"{project}:{CLOUD_KEY}") or None


def substrate_of(policy: upstream.Policy) -> str | None:
    """The substrate a rule guards; None: every substrate (a rule not declared by RuleSet)."""
    value = getattr(policy, "substrate", None)
    return value if isinstance(value, str) else None


class StageSubstratePolicy(upstream.StackValidationPolicy):
    """The stage names a substrate the pack has rules for. The stack config is not part of
    StackValidationArgs, so StageAnalyzer checks it (``check``); a plain pulumi-policy server
    has no validate to run and reports the rule not applicable."""

    def __init__(self) -> None:
        super().__init__(
            name=SUBSTRATE_RULE,
            description="The stage's <project>:cloud names a substrate the pack has rules for.",
            enforcement_level=upstream.EnforcementLevel.MANDATORY,
            severity=upstream.Severity.CRITICAL,
            remediation_steps="Set <project>:cloud in the stack file to aws, azure or docker;"
            " an unknown value leaves the pack to guess which rules guard the stage.",
            tags=["domain:pack"],
            validate=lambda args, _report: args.not_applicable(
                "the stack config is read by the pack's analyzer (policies/analyzer.py)"
            ),
        )

    @staticmethod
    def check(declared: str | None, known: frozenset[str], report: Any) -> None:
        if declared is not None and declared not in known:
            report(
                f"<project>:cloud is {declared!r}, a substrate the pack has no rules for"
                f" (known: {', '.join(sorted(known))}); every substrate's rules ran",
                None,
            )


def substrate_packages(policies: Sequence[upstream.Policy]) -> dict[str, str]:
    """package -> substrate, from the type tokens of the pack's resource rules
    (``azure-native:storage:StorageAccount`` makes ``azure-native`` an Azure package)."""
    packages: dict[str, str] = {}
    for policy in policies:
        own = substrate_of(policy)
        for token in getattr(policy, "types", ()) if own else ():
            packages.setdefault(token.split(":")[0], own)
    return packages


def present_substrates(
    types: Sequence[str], packages: Mapping[str, str], known: frozenset[str]
) -> frozenset[str]:
    """The substrates a graph has resources of: by package, by provider, by blueprint component
    token (``<project>:<substrate>:<Role>``); every known substrate when none is recognised."""
    found: set[str] = set()
    for token in types:
        parts = token.split(":")
        package = parts[2] if token.startswith("pulumi:providers:") and len(parts) > 2 else parts[0]
        if package in packages:
            found.add(packages[package])
        elif len(parts) == 3 and parts[1] in known:
            found.add(parts[1])
    return frozenset(found) or known


class RuleSelection:
    """Which rules run for a substrate and a type token, in the pack's order (memoized)."""

    def __init__(self, policies: Sequence[upstream.Policy]) -> None:
        self.policies = list(policies)
        self._resource: dict[tuple[str | None, str], list[upstream.ResourceValidationPolicy]] = {}
        self._stack: dict[frozenset[str], list[upstream.StackValidationPolicy]] = {}

    def resource_rules(
        self, substrate: str | None, type_token: str
    ) -> list[upstream.ResourceValidationPolicy]:
        """The resource rules for a type on a stage of ``substrate`` (None: every substrate)."""
        key = (substrate, type_token)
        if key not in self._resource:
            self._resource[key] = [
                p
                for p in self.policies
                if isinstance(p, upstream.ResourceValidationPolicy)
                and (substrate is None or substrate_of(p) in (None, substrate))
                and type_token in getattr(p, "types", (type_token,))
            ]
        return self._resource[key]

    def stack_rules(self, substrates: frozenset[str]) -> list[upstream.StackValidationPolicy]:
        """The stack rules of the given substrates and those of every substrate."""
        if substrates not in self._stack:
            self._stack[substrates] = [
                p
                for p in self.policies
                if isinstance(p, upstream.StackValidationPolicy)
                and substrate_of(p) in (None, *substrates)
            ]
        return self._stack[substrates]


def _value(value: Any) -> Any:
    kind = value.WhichOneof("kind")
    if kind == "string_value":
        return value.string_value
    if kind == "struct_value":
        return struct_dict(value.struct_value)
    if kind == "bool_value":
        return value.bool_value
    if kind == "number_value":
        number = value.number_value
        if math.isinf(number) or math.isnan(number):
            # As MessageToDict: JSON has neither, and the engine never sends them.
            raise ValueError(f"cannot convert {number} in Value.number_value")
        return number
    if kind == "list_value":
        return [_value(item) for item in value.list_value.values]
    return None  # null_value, or no kind set: MessageToDict's None too


def struct_dict(message: Any) -> dict[str, Any]:
    """``json_format.MessageToDict`` of a ``google.protobuf.Struct``, walked directly."""
    fields = message.fields
    return {key: _value(fields[key]) for key in fields}


def _properties(message: Any) -> Any:
    """A request's properties as the rules read them (what upstream builds per rule)."""
    return unknown_checking_proxy(deserialize_properties(struct_dict(message)))


def _run(validate: Any) -> None:
    """Await an async rule as upstream does: on a new event loop, closed afterwards."""
    if isawaitable(validate):
        loop = asyncio.new_event_loop()
        try:
            loop.run_until_complete(asyncio.Task(validate, loop=loop))
        finally:
            loop.close()


class StageAnalyzer(upstream._PolicyAnalyzerServicer):
    """pulumi-policy's servicer, selecting rules by substrate and type, reading properties once."""

    def __init__(self, name: str, version: str, policies: list[Any], *rest: Any) -> None:
        super().__init__(name, version, policies, *rest)
        self._pack = (name, version)
        self._selection = RuleSelection(policies)
        self._known = frozenset(s for s in map(substrate_of, policies) if s is not None)
        self._packages = substrate_packages(policies)
        self._declared: str | None = None  # <project>:cloud as sent, known or not
        self._substrate: str | None = None  # the declared one if known; None: not established
        self._tags: Mapping[str, str] = MappingProxyType({})
        self._stage = 0  # bumped by ConfigureStack: what is kept per stage is kept per _stage
        self._providers: dict[bytes, Any] = {}
        self._settled = threading.local()

    def ConfigureStack(self, request: Any, context: Any) -> Any:  # noqa: N802 - gRPC name
        self._declared = declared_substrate(request.config, request.project)
        self._substrate = self._declared if self._declared in self._known else None
        self._tags = MappingProxyType(dict(request.tags))
        self._stage += 1
        self._providers = {}
        return super().ConfigureStack(request, context)

    def _configure_runtime_settings(self) -> None:
        # Upstream reads PULUMI_CONFIG and the PULUMI_* settings from the environment on every
        # request, in the handler's thread (the settings are context variables). The
        # environment is fixed while the pack runs: once per thread and stage gives the same.
        if getattr(self._settled, "stage", None) != self._stage:
            super()._configure_runtime_settings()
            self._settled.stage = self._stage

    def _get_provider_resource(self, request: Any) -> Any:
        """Upstream's provider resource, read once per stage for each distinct provider."""
        if not request.HasField("provider"):
            return None
        key = request.provider.SerializeToString(deterministic=True)
        found = self._providers.get(key)
        if found is None:
            found = self._providers[key] = super()._get_provider_resource(request)
        return found

    def _level(self, policy: upstream.Policy) -> upstream.EnforcementLevel | None:
        """The level to report with, or None when the rule is disabled for this stage."""
        level = self._get_enforcement_level(policy)
        if level == upstream.EnforcementLevel.DISABLED:
            return None
        if level == upstream.EnforcementLevel.REMEDIATE:
            # Upstream: a violation left after remediation, or in a stack rule, is mandatory.
            return upstream.EnforcementLevel.MANDATORY
        return level

    def _unknown(self, response: Any, policy: upstream.Policy, error: UnknownValueError) -> None:
        name, version = self._pack
        response.diagnostics.append(
            proto.AnalyzeDiagnostic(
                policyName=policy.name,
                policyPackName=name,
                policyPackVersion=version,
                message=f"can't run policy '{policy.name}' from policy pack "
                f"'{name}@v{version}' during preview: {error.message}",
                urn="",
                description=policy.description,
                enforcementLevel=self._map_enforcement_level(upstream.EnforcementLevel.ADVISORY),
            )
        )

    def _validate(self, response: Any, policy: upstream.Policy, args: Any, level: Any) -> None:
        report = self._create_report_violation(
            response, policy.name, policy.description, level, policy.severity
        )
        try:
            _run(policy.validate(args, report))
        except UnknownValueError as error:
            self._unknown(response, policy, error)
        except upstream._NotApplicableError as error:
            response.not_applicable.append(
                proto.PolicyNotApplicable(policy_name=policy.name, reason=error.reason or "")
            )

    def Analyze(self, request: Any, _context: Any) -> Any:  # noqa: N802 - gRPC name
        self._configure_runtime_settings()
        response = proto.AnalyzeResponse()
        shared: tuple[Any, Any, Any] | None = None
        for policy in self._selection.resource_rules(self._substrate, request.type):
            level = self._level(policy)
            if level is None:
                continue
            if not policy.has_validation():
                response.not_applicable.append(
                    proto.PolicyNotApplicable(
                        policy_name=policy.name, reason="Policy does not implement validate"
                    )
                )
                continue
            if shared is None:
                shared = (
                    _properties(request.properties),
                    self._get_resource_options(request),
                    self._get_provider_resource(request),
                )
            props, opts, provider = shared
            args = upstream.ResourceValidationArgs(
                request.type,
                props,
                request.urn,
                request.name,
                opts,
                provider,
                self._get_policy_config(policy.name),
                self._tags,
            )
            self._validate(response, policy, args, level)
        return response

    def _stack_resources(self, request: Any) -> list[upstream.PolicyResource]:
        """Every resource of the request, once, with parents and dependencies linked."""
        resources: list[upstream.PolicyResource] = []
        by_urn: dict[str, upstream.PolicyResource] = {}
        for r in request.resources:
            resource = upstream.PolicyResource(
                r.type,
                _properties(r.properties),
                r.urn,
                r.name,
                self._get_resource_options(r),
                self._get_provider_resource(r),
                None,
                [],
                {},
            )
            resources.append(resource)
            by_urn[r.urn] = resource
        for r, resource in zip(request.resources, resources, strict=True):
            if r.parent in by_urn:
                resource.parent = by_urn[r.parent]
            resource.dependencies.extend(by_urn[d] for d in r.dependencies if d in by_urn)
            for key, deps in r.propertyDependencies.items():
                resource.property_dependencies[key] = [by_urn[u] for u in deps.urns if u in by_urn]
        return resources

    def AnalyzeStack(self, request: Any, _context: Any) -> Any:  # noqa: N802 - gRPC name
        self._configure_runtime_settings()
        response = proto.AnalyzeResponse()
        resources: list[upstream.PolicyResource] | None = None
        if self._substrate is not None:
            substrates = frozenset({self._substrate})
        else:
            types = [r.type for r in request.resources]
            substrates = present_substrates(types, self._packages, self._known)
        for policy in self._selection.stack_rules(substrates):
            level = self._level(policy)
            if level is None:
                continue
            if isinstance(policy, StageSubstratePolicy):
                report = self._create_report_violation(
                    response, policy.name, policy.description, level, policy.severity
                )
                policy.check(self._declared, self._known, report)
                continue
            if resources is None:
                resources = self._stack_resources(request)
            args = upstream.StackValidationArgs(
                list(resources), self._get_policy_config(policy.name), self._tags
            )
            self._validate(response, policy, args, level)
        return response


def install() -> None:
    """Make ``PolicyPack(...)`` serve StageAnalyzer: it builds its servicer by this name."""
    upstream._PolicyAnalyzerServicer = StageAnalyzer
