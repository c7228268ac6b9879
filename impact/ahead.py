"""Work started ahead on a helper thread, taken on the main thread when it is needed.

``impact review`` imports the notebook stack (papermill and nbconvert) while the data
checks and then the metric query run on DuckDB's threads: DuckDB lets go of Python's
lock while it works, so the two overlap (``impact.preflight`` starts them;
docs/performance.md has the figures).

The rules that keep this safe:

- one thread at a time uses what the work uses (a data source's connection): the helper
  until the work ends, then whoever took its result;
- the work's error is raised where its result is taken, as if the work had run there;
- Ctrl-C, SIGTERM and a cell's timeout reach the main thread as before: waiting for a
  result, or giving the work up (``abandon``), interrupts the work's DuckDB query, waits
  for the helper to end and releases what it made, so nothing outlives its review.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

from impact.sources import source as source_module

__all__ = ["Ahead"]

T = TypeVar("T")
_POLL = 0.1  # seconds between looks for a signal while waiting (as in source.interruptible)


class Ahead(Generic[T]):
    """``work()`` run on a helper thread from now on; ``result()`` takes its outcome.

    Args:
        work: what to run; its DuckDB queries must go through ``Source.query`` (or
            ``source.interruptible``) for ``abandon`` to stop them.
        name: the helper thread's name.
        release: how to let go of a result nobody took (close its data source).
    """

    def __init__(
        self, work: Callable[[], T], *, name: str, release: Callable[[T], None] | None = None
    ) -> None:
        self._work = work
        self._release = release
        self._done = threading.Event()
        self._value: list[T] = []  # the result, until taken or released
        self._error: list[BaseException] = []
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._value.append(self._work())
        except BaseException as error:  # raised again where the result is taken
            self._error.append(error)
        finally:
            self._done.set()

    def result(self) -> T:
        """Wait for the work and return its result, or raise its error; once only.

        Interrupted while waiting (a signal, a timeout), the work is abandoned first.
        """
        try:
            while not self._done.wait(_POLL):
                pass
        except BaseException:
            self.abandon()
            raise
        if self._error:
            raise self._error[0]
        if not self._value:
            raise RuntimeError("the result was taken already")
        return self._value.pop()

    def abandon(self) -> None:
        """Stop the work (its running DuckDB query is interrupted), wait for it to end, and
        release its result if nobody took it. Safe to call at any time, more than once."""
        while not self._done.wait(0.05):
            source_module.interrupt(self._thread)
        if self._value and self._release is not None:
            self._release(self._value.pop())
