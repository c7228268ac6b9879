"""The ``impact`` command's entry point: stop signals are handled from its first moments.

The command line imports about a second of modules before its commands install their
handlers (``cli_common.one_line_errors``). Without one, Ctrl-C in that second printed
Python's traceback of an import, and SIGTERM ended the process with no word (status 143).
Here both raise KeyboardInterrupt from the start, and an interrupt before any command runs
is the same one line and exit 130 as one during a command. Once the command has finished,
its exit code stands: a stop signal while the process exits is only noted (it made a
published review exit 130 or 143).
"""

from __future__ import annotations

import signal
import sys

from impact import stopping
from impact.errors import EXIT_INTERRUPTED

__all__ = ["main"]


def main() -> None:
    """Run the ``impact`` command."""
    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, stopping.raise_until_finished)
    try:
        from impact import cli
    except KeyboardInterrupt:
        sys.stderr.write("error: interrupted; nothing was published\n")
        sys.exit(EXIT_INTERRUPTED)
    cli.main()
