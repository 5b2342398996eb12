"""Entry point: ``python -m pipeline``."""

import sys

try:
    # Importing the CLI takes a while on a loaded machine: a Ctrl-C that lands there ends with
    # the same one line as one that lands mid-command. What the command will run in other
    # processes starts first, while the CLI loads: a plan that will render starts its fork
    # server (the SDK imports), a diff of the working tree starts that render.
    from pipeline import early, headstart

    if not early.start_for(sys.argv[1:]):
        headstart.start_for(sys.argv[1:])
    from pipeline.cli import main
except KeyboardInterrupt:
    command = next((w for w in sys.argv[1:] if not w.startswith("-")), "pipeline")
    print(f"{command}: interrupted", file=sys.stderr)
    sys.exit(130)

sys.exit(main())
