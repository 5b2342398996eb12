"""Where the arguments of one ``promote`` call go (issue 25: "the arguments of one promote call
pass through far fewer modules, with few returns"; "each handler turns arguments into a
request, calls the model and renders the result").

Followed by identity with ``sys.setprofile``: the parsed Namespace and the promotion's Request.
A stop is a call of a function under ``pipeline/`` that receives one of them (positionally, by
keyword or inside a tuple, list or dict argument); a return is a stop in a module they had left.
At 93edb8d, before the restructuring, the same trace gave 3 modules (cli.py, promote/cli.py and
the 700-line orchestrator.py, which did everything); before the handler read its arguments once
(promote_options.py), 9 modules, 14 stops and 5 returns, the Namespace reaching the wiring,
inputs.py and record/open.py back and forth."""

from __future__ import annotations

import argparse
import inspect
import sys
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

from pipeline.cli import main
from pipeline.promote.walk import Request
from tests.conftest import PROJECT_DIR

FAKE = "tests.promote.fakes:file_deployer"
PIPELINE = str(PROJECT_DIR / "pipeline") + "/"
COMMAND_LINE = {"cli.py", "promote/commands/promote.py", "promote/commands/promote_options.py"}
MODEL = {"promote/orchestrator.py", "promote/resolver.py", "promote/opening.py", "notify/hooks.py"}


@dataclass
class Trace:
    """The modules each of the arguments stopped in, in order."""

    stops: list[tuple[str, str]] = field(default_factory=list)

    def __call__(self, frame: FrameType, event: str, arg: Any) -> None:
        code = frame.f_code
        if event != "call" or not code.co_filename.startswith(PIPELINE):
            return
        count = code.co_argcount + code.co_kwonlyargcount
        count += bool(code.co_flags & inspect.CO_VARARGS)
        count += bool(code.co_flags & inspect.CO_VARKEYWORDS)
        passed: list[Any] = []
        for value in (frame.f_locals.get(name) for name in code.co_varnames[:count]):
            if isinstance(value, dict):
                passed += value.values()
            elif isinstance(value, (list, tuple)):
                passed += value
            else:
                passed.append(value)
        module = code.co_filename[len(PIPELINE) :]
        for kind in ("Namespace", "Request"):
            carried = argparse.Namespace if kind == "Namespace" else Request
            if any(isinstance(v, carried) for v in passed) and self.stops[-1:] != [(kind, module)]:
                self.stops.append((kind, module))

    def modules(self, kind: str | None = None) -> list[str]:
        return [m for k, m in self.stops if kind in (None, k)]

    @property
    def returns(self) -> int:
        path = [m for i, m in enumerate(self.modules()) if i == 0 or self.modules()[i - 1] != m]
        return sum(1 for i, m in enumerate(path) if m in path[:i])


def test_the_arguments_stop_at_the_handler_and_the_request_at_the_model(
    stacks_copy, state_dir, health, monkeypatch, make_release_in, cloud, capsys
):
    monkeypatch.setenv("STAGELINE_FAKE_HEALTH_URL", health.url)
    release = make_release_in("a")
    trace = Trace()
    argv = ["promote", release.id, "--to", "dev", "--deployer", FAKE, "--json"]
    argv += ["--stacks-dir", str(stacks_copy), "--state-dir", str(state_dir)]
    sys.setprofile(trace)
    try:
        code = main(argv)
    finally:
        sys.setprofile(None)
    assert code == 0, capsys.readouterr().err
    assert cloud.runs("dev") == release.id  # the promotion traced is one that deployed
    report = f"{trace.stops} ({trace.returns} returns)"
    # The command line's Namespace goes no further than the handler that reads it once.
    assert set(trace.modules("Namespace")) == COMMAND_LINE, report
    # The handler makes the Request and hands it to the model: resolved, opened, run, announced.
    assert set(trace.modules("Request")) == MODEL, report
    assert len(set(trace.modules())) <= 7, report
    assert trace.returns <= 1, report  # the orchestrator, once the resolver has walked it
