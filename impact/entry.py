"""The ``impact`` command's entry point: stop signals are handled from its first moments.

The command line imports about a second of modules before its commands install their
handlers (``cli_common.one_line_errors``). Without one, Ctrl-C in that second printed
Python's traceback of an import, and SIGTERM ended the process with no word (status 143).
Here both raise KeyboardInterrupt from the start, and an interrupt before any command runs
is the same one line and exit 130 as one during a command. Once the command has finished,
its exit code stands: a stop signal while the process exits is only noted (it made a
published review exit 130 or 143).

Once the command is over, the process ends without Python's teardown, which frees every
object of the notebook stack one by one and collects their cycles: 0.6-0.8 s of an 8 s
review at 10.8M events (docs/performance.md), for memory the operating system takes back at
once. What must survive runs first: the atexit handlers (temporary folders, logging, the
notes of a stop signal) and the flush of stdout and stderr. Every file the commands write is
closed by then (``with`` blocks), and an error that escaped a command still ends with
Python's traceback, as before.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import sys
from typing import NoReturn

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
    try:
        cli.main()
    except SystemExit as done:
        _end(done.code)


def _end(code: object) -> NoReturn:
    """End the process with ``code`` as ``sys.exit`` would, without Python's teardown."""
    if code is None:
        status = 0
    elif isinstance(code, int):
        status = code & 0xFF
    else:  # sys.exit("message"): the message on stderr, status 1
        sys.stderr.write(f"{code}\n")
        status = 1
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe: nothing can reach it
            stream.flush()
    os._exit(status)
