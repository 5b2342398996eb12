"""Imported by the render fork server only: its stage processes leave Ctrl-C to the parent.

The fork server reads the SIGINT disposition after its preload and restores it in every process
it forks, so ignoring SIGINT here means a Ctrl-C interrupts `plan` once, in the parent, which
says so and exits 130, instead of every stage process printing a traceback.
"""

import signal

signal.signal(signal.SIGINT, signal.SIG_IGN)
