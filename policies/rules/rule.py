"""How a rule is declared: one function, with the metadata an auditor needs.

Each provider module of a domain (``network/aws.py``, ``network/azure.py``) makes a
``RULES = RuleSet("<domain>", substrate="<cloud>")`` and decorates one function per rule. The
decorator builds the pulumi_policy ``Policy`` with description, severity, remediation and
framework references. Every rule carries its substrate (the ``<project>:cloud`` value of the
stages it guards) and a resource rule the type tokens it reads, so the pack's analyzer
(``policies/analyzer.py``) runs a rule only on its substrate's stages and on those types.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyComplianceFramework,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)

ResourceCheck = Callable[[ResourceValidationArgs, ReportViolation], None]
StackCheck = Callable[[StackValidationArgs, ReportViolation], None]

# Tags on every policy, read back by the catalog from GetAnalyzerInfo.
DOMAIN_TAG = "domain:"
REFERENCE_TAG = "ref:"
STAGE_ADVISORY_TAG = "stage-advisory"
"""Advisory in the early stages (dev, test), mandatory from staging on."""
STAGE_THRESHOLD_TAG = "stage-threshold"
"""Reads a stage-dependent threshold from the policy config."""
SUBSTRATE_TAG = "substrate:"
"""The substrate whose stages the rule guards (harness and catalog read it back)."""


class SubstrateResourcePolicy(ResourceValidationPolicy):
    """A resource rule that knows its substrate and the type tokens it reads."""

    def __init__(self, *, substrate: str, types: frozenset[str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.substrate = substrate
        self.types = types


class SubstrateStackPolicy(StackValidationPolicy):
    """A stack rule that knows its substrate."""

    def __init__(self, *, substrate: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.substrate = substrate


@dataclass(frozen=True)
class Reference:
    """A control in a public framework that the rule implements (or is equivalent to)."""

    framework: str
    version: str
    control: str

    def tag(self) -> str:
        return f"{REFERENCE_TAG}{self.framework}|{self.version}|{self.control}"


def cis_aws(control: str) -> Reference:
    return Reference("CIS AWS Foundations Benchmark", "3.0.0", control)


def cis_azure(control: str) -> Reference:
    return Reference("CIS Microsoft Azure Foundations Benchmark", "2.0.0", control)


def cis_docker(control: str) -> Reference:
    return Reference("CIS Docker Benchmark", "1.6.0", control)


def checkov(check_id: str) -> Reference:
    return Reference("Checkov", "", check_id)


def config_schema(properties: dict[str, dict[str, Any]]) -> PolicyConfigSchema:
    """Every property a rule reads is required: thresholds come from the stage's config file."""
    return PolicyConfigSchema(properties=properties, required=sorted(properties))


class RuleSet:
    """The rules one provider module contributes to a domain."""

    def __init__(self, domain: str, substrate: str) -> None:
        self.domain = domain
        self.substrate = substrate
        self.policies: list[Policy] = []

    def _meta(
        self,
        references: Iterable[Reference],
        stage_advisory: bool,
        schema: PolicyConfigSchema | None,
    ) -> dict[str, Any]:
        refs = list(references)
        tags = [
            f"{DOMAIN_TAG}{self.domain}",
            f"{SUBSTRATE_TAG}{self.substrate}",
            *(r.tag() for r in refs),
        ]
        if stage_advisory:
            tags.append(STAGE_ADVISORY_TAG)
        if schema is not None:
            tags.append(STAGE_THRESHOLD_TAG)
        primary = next((r for r in refs if r.framework.startswith("CIS")), None)
        framework = (
            PolicyComplianceFramework(
                name=primary.framework, version=primary.version, reference=primary.control
            )
            if primary
            else None
        )
        return {
            "tags": tags,
            "framework": framework,
            "config_schema": schema,
            # The pack's own default; config/<stage>.json is what a deployment uses.
            "enforcement_level": EnforcementLevel.ADVISORY if stage_advisory else None,
        }

    def resource(
        self,
        name: str,
        *,
        types: Iterable[str],
        description: str,
        severity: Severity,
        remediation: str,
        references: Iterable[Reference] = (),
        stage_advisory: bool = False,
        config: PolicyConfigSchema | None = None,
    ) -> Callable[[ResourceCheck], ResourceCheck]:
        """Register a per-resource rule that runs only for the given type tokens."""
        wanted = frozenset(types)

        def register(check: ResourceCheck) -> ResourceCheck:
            # The analyzer selects by type already; this keeps the rule exact under a plain
            # pulumi-policy server too.
            def validate(args: ResourceValidationArgs, report: ReportViolation) -> None:
                if args.resource_type in wanted:
                    check(args, report)

            self.policies.append(
                SubstrateResourcePolicy(
                    substrate=self.substrate,
                    types=wanted,
                    name=name,
                    description=description,
                    validate=validate,
                    severity=severity,
                    remediation_steps=remediation,
                    **self._meta(references, stage_advisory, config),
                )
            )
            return check

        return register

    def stack(
        self,
        name: str,
        *,
        description: str,
        severity: Severity,
        remediation: str,
        references: Iterable[Reference] = (),
        stage_advisory: bool = False,
        config: PolicyConfigSchema | None = None,
    ) -> Callable[[StackCheck], StackCheck]:
        """Register a rule over the whole stack graph (AnalyzeStack)."""

        def register(check: StackCheck) -> StackCheck:
            self.policies.append(
                SubstrateStackPolicy(
                    substrate=self.substrate,
                    name=name,
                    description=description,
                    validate=check,
                    severity=severity,
                    remediation_steps=remediation,
                    **self._meta(references, stage_advisory, config),
                )
            )
            return check

        return register


def discover(package: str, path: Iterable[str]) -> list[Policy]:
    """Every provider module's RULES in a domain package, so a new provider adds a file only."""
    policies: list[Policy] = []
    for module in sorted(m.name for m in pkgutil.iter_modules(list(path))):
        rules = getattr(importlib.import_module(f"{package}.{module}"), "RULES", None)
        if isinstance(rules, RuleSet):
            policies.extend(rules.policies)
    return policies
