"""Load this stack's spec from the config the Pulumi engine handed to the program."""

from __future__ import annotations

import pulumi
import pulumi.runtime
from pulumi.runtime import config as runtime_config

from components.spec.loader import PROJECT, SpecError, load_spec
from components.spec.model import StageSpec


def current_config() -> dict[str, str]:
    """This stack's config as the engine handed it to the program (key -> value as text)."""
    # The language host passes config in PULUMI_CONFIG; tests and inline programs set it directly.
    return {**pulumi.runtime.get_config_env(), **runtime_config.CONFIG.get()}


def current_spec(stacks_dir: str = "stacks") -> StageSpec:
    """This stack's StageSpec; a bad config stops the program with the file and key named."""
    stack = pulumi.get_stack()
    values = current_config()
    secret = [k for k in values if pulumi.runtime.is_config_secret(k)]
    secret += pulumi.runtime.get_config_secret_keys_env()
    try:
        return load_spec(
            values, stack=stack, source=f"{stacks_dir}/Pulumi.{stack}.yaml", secret_keys=secret
        )
    except SpecError as exc:
        raise pulumi.RunError(f"invalid stage configuration:\n{exc}") from None


def app_secret_values() -> pulumi.Output[dict[str, str]]:
    """The ``<project>:secrets`` map as one secret Output (offline renders: unknown values)."""
    values = pulumi.Config(PROJECT).get_secret_object("secrets")
    return pulumi.Output.secret(values if values is not None else {})
