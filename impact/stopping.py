"""A stop signal, remembered until the process ends.

SIGINT and SIGTERM stop a review by raising KeyboardInterrupt wherever the process is. But
Python drops an exception raised inside a weakref callback or a ``__del__`` ("Exception
ignored in ..."): a signal that lands there is lost, and the review goes on. Under load this
happened to a worker of ``impact run --due`` told to stop: it went on and published 60 s
later. So the handlers that raise also note the signal here, and the points of no return (a
review starting in a chain, a publish's commit) ask :func:`requested` first.

Only the command line's and the workers' handlers note: in a notebook or another program
calling the library, Ctrl-C is Python's own and nothing here outlives it.

What they raise is :class:`StopSignal`, a KeyboardInterrupt of its own: CPython remembers
a KeyboardInterrupt of exactly Python's type that passes out of code an extension runs with
``PyRun_String``, and under ``python -m`` it then ends the process with SIGINT whatever its
exit code (status -2, not 130), with no word. A signal that landed there did it to ``python
-m impact review`` about once in 60 runs.
"""

from __future__ import annotations

import sys
from typing import Any

__all__ = [
    "StopSignal",
    "clear",
    "finish",
    "note",
    "quiet_dropped_interrupts",
    "raise_interrupt",
    "raise_until_finished",
    "requested",
]


class StopSignal(KeyboardInterrupt):
    """SIGINT or SIGTERM, raised where the process is (``except KeyboardInterrupt`` takes
    it); never Python's own KeyboardInterrupt, whose exact type CPython may remember as
    unhandled after it was handled (see the module docstring)."""


_noted: list[int] = []
_finished: list[bool] = []


def note(signum: int) -> None:
    """Remember that stop signal ``signum`` came."""
    _noted.append(signum)


def raise_interrupt(signum: int, frame: object) -> None:
    """A signal handler: note the signal, then stop as Ctrl-C does."""
    note(signum)
    raise StopSignal


def raise_until_finished(signum: int, frame: object) -> None:
    """The ``impact`` command's own handler (``impact.entry``): as ``raise_interrupt`` until
    its command has finished (``finish``); after that the work and its exit code are decided,
    and a stop signal while the process exits is only noted."""
    if _finished:
        note(signum)
        return
    raise_interrupt(signum, frame)


def finish() -> None:
    """The command's work is over: a stop signal from now on changes nothing."""
    _finished.append(True)


def requested() -> bool:
    """Whether a stop signal came since the process (or its command) started."""
    return bool(_noted)


def _unraisable(unraisable: Any) -> None:
    """Python's hook for an exception it could not raise: a KeyboardInterrupt there is a
    stop signal already noted (and obeyed at the next point of no return), not a traceback
    for the user; anything else is printed as Python prints it."""
    kind = unraisable.exc_type
    if kind is not None and issubclass(kind, KeyboardInterrupt) and requested():
        return
    sys.__unraisablehook__(unraisable)


def quiet_dropped_interrupts() -> None:
    """Print no "Exception ignored ... KeyboardInterrupt" traceback for a noted signal (a
    worker process, for its life)."""
    sys.unraisablehook = _unraisable


def clear() -> None:
    """Forget earlier signals (a command starting in a process that ran one before)."""
    _noted.clear()
    _finished.clear()
