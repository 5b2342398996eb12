"""A promotion in its own process, over the fake cloud: the test kills it at random points.

``python -m tests.promote.runner STACKS_DIR STATE_DIR RELEASE TARGET STEP_DELAY [REPO]`` prints
``ready`` once imported, then runs the promotion and exits with its code. With ``REPO`` the
promotion state is that clone's git remote (the fake cloud stays in STATE_DIR), else the git
record in STATE_DIR, as ``--state-dir`` opens it.
"""

from __future__ import annotations

import sys
from pathlib import Path

from pipeline.definition import load_pipeline
from pipeline.promote.orchestrator import Orchestrator, Request
from pipeline.record.local import LocalGitState
from pipeline.record.state import GitState
from tests.promote.fakes import FileDeployer, state_verifier


def main(argv: list[str]) -> int:
    stacks_dir, state_dir, release, target, delay, *repo = argv
    cloud = FileDeployer(Path(stacks_dir), Path(state_dir), step_delay=float(delay))
    orchestrator = Orchestrator(
        cloud,
        load_pipeline(Path(stacks_dir)),
        GitState(Path(repo[0])) if repo else LocalGitState(Path(state_dir)),
        verify=state_verifier(cloud),
    )
    print("ready", flush=True)
    return orchestrator.promote(Request(release, target)).code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
