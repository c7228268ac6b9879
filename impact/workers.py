"""Worker processes for ``impact run --due --jobs N`` that live and die with the run.

A small pool of its own rather than ``concurrent.futures``, for three guarantees:

- a worker dies with its parent, even when the parent is killed with SIGKILL: on Linux the
  kernel sends it SIGKILL (``prctl(PR_SET_PDEATHSIG)``), elsewhere it notices within a
  second that its parent changed;
- a worker serves task after task (its imports, caches and compiled templates stay warm);
  a task that raises is answered with ``Raised`` (one line, no traceback) and its worker
  ends, so nothing the failed task left behind reaches the next one;
- a worker that dies (an out-of-memory kill, a crash in native code) fails the one task it
  held; the pool starts another worker and the other tasks go on;
- on SIGINT or SIGTERM the parent hands out no more tasks, passes SIGTERM to the busy
  workers (each stops its review unless it has already committed its publish), collects what
  they answer, and only then raises KeyboardInterrupt.

Tasks and answers are pickled over pipes; a task is ``function(*arguments)`` with a
module-level function.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import multiprocessing.connection
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from impact import stopping

__all__ = ["Died", "Raised", "die_with_parent", "run"]

PR_SET_PDEATHSIG = 1
GRACE = 60.0  # seconds the busy workers get to stop after a signal


@dataclass(frozen=True)
class Died:
    """A worker died while it held a task.

    Attributes:
        index: the task's position in the list given to ``run``.
        exitcode: the process's exit code (negative: killed by that signal).
    """

    index: int
    exitcode: int | None

    def __str__(self) -> str:
        if self.exitcode is not None and self.exitcode < 0:
            try:
                name = signal.Signals(-self.exitcode).name
            except ValueError:
                name = f"signal {-self.exitcode}"
            return f"its worker process was killed ({name}, as an out-of-memory kill does)"
        return f"its worker process died (exit code {self.exitcode})"


@dataclass(frozen=True)
class Raised:
    """A task raised an exception (its worker then ended, and another one took its place).

    Attributes:
        index: the task's position in the list given to ``run``.
        error: the exception's type and first line.
    """

    index: int
    error: str

    def __str__(self) -> str:
        return f"it raised {self.error}"


def die_with_parent(parent: int) -> None:
    """Make this process end when ``parent`` does, SIGKILL included."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # it died before the request took effect
        os._exit(1)

    def watch() -> None:
        while True:
            time.sleep(1.0)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, name="impact-parent-watch", daemon=True).start()


def _serve(
    connection: multiprocessing.connection.Connection,
    parent: int,
    function: Callable[..., Any],
) -> None:
    """A worker: run each task received until the pipe closes or a signal stops it."""
    die_with_parent(parent)
    signal.signal(signal.SIGTERM, stopping.raise_interrupt)
    stopping.quiet_dropped_interrupts()
    with contextlib.suppress(KeyboardInterrupt, EOFError, BrokenPipeError):
        while True:
            index, arguments = connection.recv()
            try:
                answer = function(*arguments)
            except Exception as error:  # this task alone; a fresh worker takes the next
                lines = str(error).strip().splitlines()
                first = f"{type(error).__name__}: {lines[0]}" if lines else type(error).__name__
                connection.send((index, Raised(index, first)))
                return
            connection.send((index, answer))


@dataclass
class _Worker:
    process: multiprocessing.process.BaseProcess
    connection: multiprocessing.connection.Connection
    task: int | None = None


def run(
    function: Callable[..., Any], tasks: list[tuple[Any, ...]], *, jobs: int
) -> Iterator[tuple[int, Any]]:
    """Run ``function(*task)`` for each task in ``jobs`` processes; yield (index, answer).

    An answer is what the function returned, ``Raised`` when it raised (its worker is then
    replaced), or ``Died`` when the worker died holding it.
    On SIGINT or SIGTERM (handled here while it runs), the busy workers are told to stop,
    their answers are yielded as they come, then KeyboardInterrupt is raised.
    """
    context = multiprocessing.get_context("spawn")
    queue = list(enumerate(tasks))
    workers: list[_Worker] = []

    def start() -> _Worker:
        mine, theirs = context.Pipe()
        process = context.Process(
            target=_serve, args=(theirs, os.getpid(), function), name="impact-review"
        )
        process.start()
        theirs.close()
        worker = _Worker(process, mine)
        workers.append(worker)
        return worker

    def hand_out() -> None:
        for worker in workers:
            if worker.task is None and queue and worker.process.is_alive():
                index, arguments = queue.pop(0)
                try:
                    worker.connection.send((index, arguments))
                except OSError:  # it died just now: the task goes back to the queue
                    queue.insert(0, (index, arguments))
                    continue
                worker.task = index

    def answers(timeout: float | None) -> Iterator[tuple[int, Any]]:
        busy = [w for w in workers if w.task is not None]
        ready = multiprocessing.connection.wait(
            [w.connection for w in busy] + [w.process.sentinel for w in busy], timeout
        )
        for worker in busy:
            if worker.connection in ready:
                try:
                    index, answer = worker.connection.recv()
                except (EOFError, OSError):
                    continue  # it died; its sentinel says so below
                worker.task = None
                if isinstance(answer, Raised):  # it ends now: never hand it another task
                    worker.process.join()
                    worker.connection.close()
                    workers.remove(worker)
                yield index, answer
        for worker in busy:
            if worker.task is not None and worker.process.sentinel in ready:
                worker.process.join()
                died = Died(worker.task, worker.process.exitcode)
                worker.task = None
                worker.connection.close()
                workers.remove(worker)
                yield died.index, died

    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stop.set()

    held = threading.current_thread() is threading.main_thread()
    previous = (
        {number: signal.signal(number, on_signal) for number in (signal.SIGINT, signal.SIGTERM)}
        if held
        else {}
    )
    try:
        while (queue or any(w.task is not None for w in workers)) and not stop.is_set():
            for worker in [w for w in workers if w.task is None and not w.process.is_alive()]:
                worker.connection.close()  # died while idle: replaced below
                workers.remove(worker)
            while queue and len(workers) < jobs:
                start()
            hand_out()
            yield from answers(0.25)
        if stop.is_set():
            queue.clear()
            for worker in workers:
                if worker.task is not None and worker.process.is_alive():
                    with contextlib.suppress(OSError):
                        os.kill(worker.process.pid or 0, signal.SIGTERM)
            deadline = time.monotonic() + GRACE
            while any(w.task is not None for w in workers) and time.monotonic() < deadline:
                yield from answers(0.25)
            raise stopping.StopSignal
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        for worker in workers:
            with contextlib.suppress(OSError):
                worker.connection.close()
        for worker in workers:
            worker.process.join(timeout=5)
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join()
