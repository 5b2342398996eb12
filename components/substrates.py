"""The substrate registry: everything shared code needs to know about a substrate, in one place
per substrate.

A substrate is one folder (``components/aws``, ...) whose ``substrate.py`` declares a
:class:`SubstrateInfo` named ``SUBSTRATE``. The file is loaded on its own, by path, so reading
the registry never imports a substrate's package (and with it a cloud SDK): the loader and the
offline tools read it before any stage is built. ``components/*/substrate.py`` are found by
scanning this package; one kept elsewhere (the tests' ``plain`` substrate) is named in
``STAGELINE_SUBSTRATES`` (comma-separated paths of such ``substrate.py`` files).
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import pkgutil
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from components.bindings import Binding
    from components.roles import Substrate
    from components.spec.model import StageSpec

EXTRA = "STAGELINE_SUBSTRATES"
Check = Callable[["StageSpec"], list[tuple[str, str]]]


def _attr(ref: str) -> Any:
    module, _, name = ref.partition(":")
    return getattr(importlib.import_module(module), name)


@dataclass(frozen=True)
class SubstrateInfo:
    """What one substrate registers. References are ``module:attribute``, imported on use, so an
    AWS stage never imports the Azure SDK."""

    name: str
    """The value of ``<project>:cloud`` that selects it."""
    build: str
    """``module:function`` building the seven roles (components.roles.Substrate)."""
    bindings: str
    """``module:TABLE``: which properties each scale and identity key drives (parity)."""
    mocks: str
    """Module with ``RESOURCES`` and ``CALLS`` for the offline renderer."""
    region_key: str | None
    """Provider config key holding the stage's region; None: the stage is ``local``."""
    namespaces: tuple[str, ...] = ()
    """Config namespaces of its providers: theirs to check, never the project's."""
    checks: Check | None = None
    """(StageSpec) -> [(model path, expected)]: its scale vocabulary and limits, checked at load
    time with the rest of the spec."""
    refuses: Mapping[str, str] = field(default_factory=dict)
    """Shape paths it does not realise (``*`` matches one segment: ``services.*.port``), each
    with the reason: declared, never silently dropped. Its ``checks`` refuse the values it
    cannot run (Docker with ``encryption.atRest: true``, Azure with ARM64 images)."""
    images: Mapping[str, str] = field(default_factory=dict)
    """Its own infrastructure images a stack may pin (``<project>:substrateImages``), each with
    what it runs; a stage that pins none runs the substrate's shipped defaults."""

    def builder(self) -> Substrate:
        build: Substrate = _attr(self.build)
        return build

    def binding_table(self) -> tuple[Binding, ...]:
        table: tuple[Binding, ...] = _attr(self.bindings)
        return table

    def problems(self, spec: StageSpec) -> list[tuple[str, str]]:
        return self.checks(spec) if self.checks is not None else []

    def mock_tables(self) -> tuple[dict[str, Any], dict[str, Any]]:
        module = importlib.import_module(self.mocks)
        return dict(module.RESOURCES), dict(module.CALLS)


def _files() -> list[Path]:
    here = Path(__file__).resolve().parent
    found = [
        here / info.name / "substrate.py"
        for info in pkgutil.iter_modules([str(here)])
        if info.ispkg and (here / info.name / "substrate.py").is_file()
    ]
    return found + [Path(p) for p in os.environ.get(EXTRA, "").split(",") if p]


_LOADING = threading.Lock()
"""A module is in sys.modules before it has run: without the lock a second thread could take
the half-loaded registration (its SUBSTRATE not yet defined)."""


def _load(path: Path) -> SubstrateInfo:
    with _LOADING:
        return _load_locked(path)


def _load_locked(path: Path) -> SubstrateInfo:
    name = f"_substrate_{path.parent.name}"
    if name in sys.modules:
        module = sys.modules[name]
    else:
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            raise ImportError(f"{path}: not a Python file")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    info = getattr(module, "SUBSTRATE", None)
    if not isinstance(info, SubstrateInfo):
        raise TypeError(f"{path}: SUBSTRATE is not a SubstrateInfo")
    return info


@cache
def _registry(files: tuple[Path, ...]) -> dict[str, SubstrateInfo]:
    registry: dict[str, SubstrateInfo] = {}
    for path in files:
        info = _load(path)
        if info.name in registry:
            raise ValueError(f"substrate {info.name!r} registered twice ({path})")
        registry[info.name] = info
    return registry


def registry() -> dict[str, SubstrateInfo]:
    """Every registered substrate by name."""
    return _registry(tuple(_files()))


def names() -> list[str]:
    return sorted(registry())


def get(name: str) -> SubstrateInfo:
    try:
        return registry()[name]
    except KeyError:
        raise KeyError(f"no substrate {name!r}; registered: {', '.join(names())}") from None


def provider_namespaces() -> set[str]:
    """Config namespaces that belong to some substrate's providers (plus the engine's own)."""
    return {"pulumi", *(n for s in registry().values() for n in s.namespaces)}
