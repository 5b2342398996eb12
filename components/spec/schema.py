"""JSON Schema for stack files, so editors complete and check ``stacks/Pulumi.<stack>.yaml``.

Stack files start with ``# yaml-language-server: $schema=stageline.schema.json``.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import TypeAdapter

from components import substrates
from components.spec.loader import KEYS, PROJECT
from components.spec.model import Identity, ImageRef, Name, Scale, Shape, Tags
from components.spec.stackfile import SECRETS_PROVIDER

SCHEMA_FILE = "stageline.schema.json"


def _field(model: type[Identity] | type[Tags], name: str) -> dict[str, Any]:
    schema = model.model_json_schema(by_alias=True)
    prop: dict[str, Any] = schema["properties"][name]
    return prop


def _partial(schema: dict[str, Any]) -> dict[str, Any]:
    """A stack's ``shape`` overrides the blueprint key by key: nothing in it is required."""
    out = {k: v for k, v in schema.items() if k != "required"}
    if "$defs" in out:
        out["$defs"] = {name: _partial(d) for name, d in out["$defs"].items()}
    return out


def stack_file_schema() -> dict[str, Any]:
    """The schema of a whole stack file: the ``config:`` keys the project reads, theirs only."""
    scale = Scale.model_json_schema(by_alias=True)
    shape = _partial(Shape.model_json_schema(by_alias=True))
    images = TypeAdapter(dict[Name, ImageRef]).json_schema()
    secure = {
        "type": "object",
        "properties": {"secure": {"type": "string"}},
        "required": ["secure"],
        "additionalProperties": False,
    }
    keys: dict[str, Any] = {
        "stage": _field(Identity, "stage"),
        "cloud": {**_field(Identity, "cloud"), "enum": substrates.names()},
        "cidr": {"type": "string", "pattern": r"^\d+\.\d+\.\d+\.\d+/\d+$"},
        "domain": _field(Identity, "domain"),
        "owner": _field(Tags, "owner"),
        "costCenter": _field(Tags, "costCenter"),
        "release": {"type": "string", "pattern": r"^[A-Za-z0-9._-]{1,64}$"},
        "images": images,
        "scale": scale,
        "shape": shape,
        "tags": {"type": "object", "additionalProperties": {"type": "string"}},
        "secrets": {"type": "object", "additionalProperties": secure},
        # Names each substrate registers (components/*/substrate.py); the spec refuses others.
        "substrateImages": {
            **images,
            "propertyNames": {
                "enum": sorted({n for i in substrates.registry().values() for n in i.images})
            },
        },
    }
    properties = {}
    for key, schema in keys.items():
        schema = {k: v for k, v in schema.items() if k != "$defs"}
        schema.setdefault("description", KEYS[key])
        properties[f"{PROJECT}:{key}"] = schema
    defs = {**scale.get("$defs", {}), **shape.get("$defs", {})}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": f"{PROJECT} stack file",
        "type": "object",
        "properties": {
            "config": {
                "type": "object",
                "properties": {
                    **properties,
                    "aws:region": {"type": "string", "description": "AWS region of the stage."},
                    "azure-native:location": {
                        "type": "string",
                        "description": "Azure region of the stage.",
                    },
                },
                # Other providers' keys (namespace:key) are theirs to check; ours are closed.
                "patternProperties": {f"^(?!{re.escape(PROJECT)}:)[a-zA-Z0-9-]+:": {}},
                "additionalProperties": False,
            },
            "secretsprovider": {
                "type": "string",
                "pattern": f"^(?:{SECRETS_PROVIDER.pattern})$",
                "description": "Key that encrypts this file's secure: values (docs/secrets.md).",
            },
            "encryptedkey": {"type": "string"},
            "encryptionsalt": {"type": "string"},
            "environment": {},
        },
        "$defs": defs,
    }


def render_schema() -> str:
    return json.dumps(stack_file_schema(), indent=2, sort_keys=True) + "\n"
