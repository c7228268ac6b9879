"""A papermill engine that runs a notebook's cells in this Python process, without a kernel.

papermill's default engine starts a Jupyter kernel: a second interpreter that imports the
whole stack again and exchanges every output over ZeroMQ, about 2.5 s of a review's time.
``impact review`` runs its template here instead: the same notebook and the same injected
parameters cell, each cell executed by IPython's own shell (magics, ``display``, the value
of a cell's last expression), every output recorded as a kernel would have sent it (streams,
displays, the cell's result, an error with its traceback), a cell timeout, and Ctrl-C.

Importing this module registers it with papermill as the ``impact`` engine
(``papermill.execute_notebook(..., engine_name="impact")``). It is not a papermill entry
point: papermill loads those while it is itself being imported, and this module imports
papermill. The cost of sharing the process: a cell that kills the interpreter
(``os._exit``, a crash in native code) ends the run with it; ``impact review --kernel
python3`` runs the notebook in a fresh kernel instead.
"""

from __future__ import annotations

import base64
import contextlib
import io
import signal
import sys
import threading
import types
import warnings
from collections.abc import Iterator
from typing import Any

from IPython.core.displayhook import DisplayHook
from IPython.core.displaypub import DisplayPublisher
from IPython.core.interactiveshell import InteractiveShell
from nbclient.exceptions import CellTimeoutError
from nbformat import NotebookNode
from nbformat.v4 import new_output
from papermill.engines import Engine, NotebookExecutionManager, papermill_engines
from traitlets import Type
from traitlets.config import Config

from impact import stopping

__all__ = ["NAME", "InProcessEngine", "available", "runs_here"]

NAME = "impact"
MAY_FAIL = "raises-exception"  # Jupyter's tag for a cell whose error does not stop the run


class _Outputs:
    """The outputs of the cell being run, in the order they were produced."""

    def __init__(self) -> None:
        self.items: list[NotebookNode] = []

    def stream(self, name: str, text: str) -> None:
        last = self.items[-1] if self.items else None
        if last is not None and last.output_type == "stream" and last.name == name:
            last.text += text
        else:
            self.items.append(new_output("stream", name=name, text=text))


class _Stream(io.TextIOBase):
    """``sys.stdout`` or ``sys.stderr`` while a cell runs: text becomes a stream output."""

    encoding = "utf-8"

    def __init__(self, outputs: _Outputs, name: str) -> None:
        self._outputs = outputs
        self._name = name

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        if text:
            self._outputs.stream(self._name, text)
        return len(text)


def _bundle(data: dict[str, Any]) -> dict[str, Any]:
    """A display's MIME bundle as a kernel sends it: binary data (a PNG) in base64."""
    return {
        mime: base64.b64encode(value).decode("ascii") if isinstance(value, bytes) else value
        for mime, value in data.items()
    }


class _ResultHook(DisplayHook):
    """The value of a cell's last expression becomes an ``execute_result``."""

    shell: _Shell

    def write_output_prompt(self) -> None:
        pass

    def write_format_data(
        self, format_dict: dict[str, Any], md_dict: dict[str, Any] | None = None
    ) -> None:
        self.shell.outputs.items.append(
            new_output(
                "execute_result",
                data=_bundle(format_dict),
                metadata=md_dict or {},
                execution_count=None,  # the cell's, set when it ends
            )
        )

    def finish_displayhook(self) -> None:
        pass


class _Publisher(DisplayPublisher):
    """``display(...)`` becomes a ``display_data`` output."""

    shell: _Shell

    def publish(
        self,
        data: dict[str, Any],
        metadata: dict[str, Any] | None = None,
        source: Any = None,
        *,
        transient: dict[str, Any] | None = None,
        update: bool = False,
        **_: Any,
    ) -> None:
        self.shell.outputs.items.append(
            new_output("display_data", data=_bundle(data), metadata=metadata or {})
        )

    def clear_output(self, wait: bool = False) -> None:
        self.shell.outputs.items.clear()


class _Shell(InteractiveShell):
    """IPython's shell with its outputs recorded for a notebook instead of printed."""

    displayhook_class = Type(_ResultHook)
    display_pub_class = Type(_Publisher)
    outputs: _Outputs  # set before each cell

    def _showtraceback(self, etype: type, evalue: BaseException, stb: list[str]) -> None:
        self.outputs.items.append(
            new_output("error", ename=etype.__name__, evalue=str(evalue), traceback=stb)
        )


class _Timeout(BaseException):
    """Raised inside a cell that ran out of time (a BaseException: ``except Exception`` in
    the cell does not swallow it)."""


def available() -> bool:
    """Whether notebooks can run in this process: not when another IPython shell owns it
    (``impact`` called from inside JupyterLab), whose outputs would be taken over."""
    return not InteractiveShell.initialized() or isinstance(InteractiveShell.instance(), _Shell)


def runs_here(kernel_name: str | None) -> bool:
    """Whether a notebook asked for with ``kernel_name`` (None: no kernel) runs in this
    process; else in a kernel (``python3`` when none was named but ``available`` is false)."""
    return kernel_name is None and available()


def _shell() -> _Shell:
    config = Config()
    config.HistoryManager.enabled = False  # nothing written to ~/.ipython
    config.InteractiveShell.warn_venv = False
    config.InteractiveShell.colors = "nocolor"
    # No Out[n] cache: results are not kept alive, and resetting never runs gc.collect().
    config.InteractiveShell.cache_size = 0
    # The notebook's globals live in a module of their own, not in this process's __main__.
    module = types.ModuleType("impact_notebook")
    shell: _Shell = _Shell.instance(config=config, user_module=module)
    shell.outputs = _Outputs()
    return shell


class InProcessEngine(Engine):
    """Execute a notebook's code cells in order in this process; stop at the first error,
    except in a cell tagged ``raises-exception`` (as nbclient does)."""

    @classmethod
    def execute_managed_notebook(
        cls,
        nb_man: NotebookExecutionManager,
        kernel_name: str,
        execution_timeout: float | None = None,
        **_: Any,
    ) -> None:
        shell = _shell()
        shell.reset(new_session=True)  # a fresh namespace, counting from 1
        # papermill writes the notebook before and after every cell, for a kernel that may
        # die; here the process that would die is the writer. One write, when it ends
        # (papermill's notebook_complete), however it ends.
        output_path, nb_man.output_path = nb_man.output_path, None
        try:
            for index, cell in enumerate(nb_man.nb.cells):
                nb_man.cell_start(cell, index)
                try:
                    if cell.cell_type == "code" and _run(shell, cell, execution_timeout):
                        if MAY_FAIL in cell.get("metadata", {}).get("tags", []):
                            continue  # as nbclient: the error is the cell's output, go on
                        nb_man.cell_exception(cell, index)
                        break
                finally:
                    nb_man.cell_complete(cell, index)
        finally:
            nb_man.output_path = output_path
            shell.reset(new_session=True)  # the notebook's objects are freed now


def _run(shell: _Shell, cell: NotebookNode, timeout: float | None) -> bool:
    """Run one cell into its outputs; whether it failed.

    Raises:
        KeyboardInterrupt: the run was interrupted inside the cell.
        CellTimeoutError: the cell ran longer than ``timeout`` seconds.
    """
    shell.outputs = outputs = _Outputs()
    with (
        contextlib.redirect_stdout(_Stream(outputs, "stdout")),
        contextlib.redirect_stderr(_Stream(outputs, "stderr")),
        _kernel_warnings(),
        _deadline(timeout),
    ):
        result = shell.run_cell(cell.source, store_history=True)
    cell.execution_count = result.execution_count
    for output in outputs.items:
        if output.output_type == "execute_result":
            output.execution_count = result.execution_count
    cell.outputs = outputs.items
    error = result.error_before_exec or result.error_in_exec
    if _interrupted(error):
        raise stopping.StopSignal
    if isinstance(error, _Timeout):
        raise CellTimeoutError(f"a cell ran longer than {timeout:g} seconds")
    return error is not None


def _interrupted(error: BaseException | None) -> bool:
    """Whether ``error`` is an interrupt, or was caused by one: Python wraps an exception
    raised in a class body's ``__set_name__`` in a RuntimeError (a SIGTERM that lands while
    a module is imported), and library code may re-raise it as another error."""
    seen = 0
    while error is not None and seen < 16:
        if isinstance(error, KeyboardInterrupt):
            return True
        error = error.__cause__ or error.__context__
        seen += 1
    return False


@contextlib.contextmanager
def _kernel_warnings() -> Iterator[None]:
    """Warnings as a kernel shows them: each once per place, deprecations hidden."""
    with warnings.catch_warnings():
        warnings.resetwarnings()
        warnings.simplefilter("default")
        for category in (DeprecationWarning, PendingDeprecationWarning, ImportWarning):
            warnings.simplefilter("ignore", category)
        warnings.simplefilter("ignore", ResourceWarning)
        warnings.showwarning = _show_warning
        yield


def _show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: object = None,
    line: str | None = None,
) -> None:
    """Print a warning to the cell's stderr (whoever replaced ``showwarning`` before)."""
    sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))


@contextlib.contextmanager
def _deadline(seconds: float | None) -> Iterator[None]:
    """Interrupt the cell after ``seconds`` (with SIGALRM, so only on the main thread)."""
    if not seconds or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum: int, frame: object) -> None:
        raise _Timeout

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


papermill_engines.register(NAME, InProcessEngine)
