"""Our own `random` provider plugin (pulumi-random 4.21.4's RandomPassword), doing the real work.

A password from Python's `secrets` (the operating system's CSPRNG, as the real provider's
`crypto/rand`), with its bcrypt hash, both returned as secrets. The facts, from
hashicorp/terraform-provider-random `internal/provider/resource_password.go` (passwordSchemaV3,
which pulumi-random 4.x bridges) and `string.go` (the generation):

- defaults: special, upper, lower, numeric (and its deprecated twin `number`) true; every
  minimum 0; `length` is required and at least 1 and at least the sum of the minimums;
- every input is `RequiresReplace`; `keepers` only where a new value is not null
  (RequiresReplaceIfValuesNotNull), `overrideSpecial` except from "" to null;
- the minimums draw from their own sets whether or not the set is enabled, the rest from the
  enabled sets, then the characters are shuffled; `overrideSpecial` replaces the special set;
- `bcryptHash` hashes the first 72 bytes at the default cost (10); `id` is "none".

Usage (what the installed plugin executable runs): random_provider.py [ENGINE_ADDRESS].
"""

from __future__ import annotations

import secrets
import sys
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import bcrypt

from tools.providers.wire import (
    InputRefusedError,
    Kind,
    Props,
    Provider,
    known,
    plugin_version,
    serve,
)

PASSWORD = "random:index/randomPassword:RandomPassword"

NUMERIC = "0123456789"
LOWER = "abcdefghijklmnopqrstuvwxyz"
UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
SPECIAL = "!@#$%&*()-_=+[]{}<>:?"
MINIMUMS = ("minNumeric", "minLower", "minUpper", "minSpecial")
BCRYPT_COST = 10  # golang.org/x/crypto/bcrypt DefaultCost


def generate(params: Props) -> str:
    """A random string by the real provider's rules (params with defaults applied)."""
    special = params.get("overrideSpecial") or SPECIAL
    pool = "".join(
        chars
        for chars, enabled in (
            (UPPER, params["upper"]),
            (LOWER, params["lower"]),
            (NUMERIC, params["numeric"]),
            (special, params["special"]),
        )
        if enabled
    )
    length = int(params["length"])
    drawn = [
        secrets.choice(chars)
        for chars, key in (
            (NUMERIC, "minNumeric"),
            (LOWER, "minLower"),
            (UPPER, "minUpper"),
            (special, "minSpecial"),
        )
        for _ in range(int(params[key]))
    ]
    if len(drawn) < length and not pool:
        raise InputRefusedError(
            "length", "no character set is enabled for the rest of the password"
        )
    drawn += [secrets.choice(pool) for _ in range(length - len(drawn))]
    secrets.SystemRandom().shuffle(drawn)
    return "".join(drawn)


def bcrypt_hash(password: str) -> str:
    return bcrypt.hashpw(password.encode()[:72], bcrypt.gensalt(BCRYPT_COST)).decode()


@dataclass(frozen=True)
class Password(Kind):
    token: str = PASSWORD
    sensitive: frozenset[str] = frozenset({"result", "bcryptHash"})

    def defaults(self, inputs: Props) -> Props:
        out = {"special": True, "upper": True, "lower": True, **dict.fromkeys(MINIMUMS, 0)}
        out.update({k: v for k, v in inputs.items() if v is not None})
        # `number` and `numeric` mirror each other (NumberNumericAttributePlanModifier).
        numeric = out.get("numeric", out.get("number", True))
        out["numeric"] = out["number"] = numeric
        return out

    def check(self, inputs: Props) -> None:
        length = inputs.get("length")
        if length is None:
            raise InputRefusedError("length", "missing required property 'length'")
        if not known(length):
            return
        if int(length) < 1:
            raise InputRefusedError("length", f"must be at least 1, got {int(length)}")
        minimums = [inputs.get(key, 0) for key in MINIMUMS]
        if all(known(m) for m in minimums) and int(length) < sum(int(m) for m in minimums):
            raise InputRefusedError(
                "length",
                f"must be at least minUpper + minLower + minNumeric + minSpecial "
                f"({sum(int(m) for m in minimums)}), got {int(length)}",
            )

    def replaces(self, state: Props, news: Props, changed: list[str]) -> list[str]:
        forcing = []
        for key in changed:
            old, new = state.get(key), news.get(key)
            if key == "keepers":
                old_map, new_map = old or {}, new or {}
                if any(new_map[k] is not None and new_map[k] != old_map.get(k) for k in new_map):
                    forcing.append(key)
            elif key == "overrideSpecial":
                if not (old == "" and new is None):
                    forcing.append(key)
            else:
                forcing.append(key)
        return forcing

    def create(self, inputs: Props) -> tuple[str, Props]:
        result = generate(inputs)
        return "none", {"result": result, "bcryptHash": bcrypt_hash(result), "id": "none"}


KINDS: list[Kind] = [Password()]


def provider() -> Provider:
    return Provider("random", plugin_version("pulumi_random"), KINDS)


if __name__ == "__main__":
    serve(provider())
