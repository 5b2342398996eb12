"""Entry point: ``python -m pipeline``."""

import sys

try:
    # Importing the CLI imports the SDKs, which takes a while on a loaded machine: a Ctrl-C
    # that lands there ends with the same one line as one that lands mid-command. A plan that
    # will render starts its fork server (the SDK imports) first, while the CLI loads; a diff
    # starts the working tree's render.
    from pipeline import early, headstart

    early.start_for(sys.argv[1:]) or headstart.start_for(sys.argv[1:])
    from pipeline.cli import main
except KeyboardInterrupt:
    command = next((w for w in sys.argv[1:] if not w.startswith("-")), "pipeline")
    print(f"{command}: interrupted", file=sys.stderr)
    sys.exit(130)

sys.exit(main())
