"""Errors raised by impact, and the exit codes the CLI gives them.

The hierarchy::

    ImpactError                 anything impact reports to a user in one line
    ├── SpecError               a launch spec or a command-line argument is wrong   (exit 2)
    ├── DataError               the data break the contract or are not ready yet    (exit 2)
    │   └── DataNotReady        the data end before the checkpoint needs them       (exit 2)
    ├── RegistrationError       a lock file is unreadable or was edited by hand     (exit 2)
    ├── ReviewLocked            another run of the same review holds its lock       (exit 3)
    └── ReviewFailed            a review notebook failed while running              (exit 1)
        └── ReviewInterrupted   the run was interrupted (SIGINT, SIGTERM)           (exit 130)

Every message says what is wrong, where (file, field path, table, column) and what would be
right, so that the CLI can print it as one line with no traceback.
"""

from __future__ import annotations

import re
from pathlib import Path

__all__ = [
    "EXIT_BAD_INPUT",
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_LOCKED",
    "EXIT_OK",
    "EXIT_SECTION_FAILED",
    "EXIT_UNDELIVERED",
    "DataError",
    "DataNotReady",
    "ImpactError",
    "RegistrationError",
    "ReviewFailed",
    "ReviewInterrupted",
    "ReviewLocked",
    "SpecError",
    "one_line",
]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_LOCKED = 3
EXIT_UNDELIVERED = 4  # run --due: every review ran, but a notification waits in the outbox
EXIT_SECTION_FAILED = 5  # published, but a team template's own cell failed (shown so)
EXIT_INTERRUPTED = 130


# What a message must not carry to a terminal or a chat: control characters (escape
# sequences such as ANSI colours and OSC-8 links start with one) and bidirectional overrides.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def one_line(text: str) -> str:
    r"""The text on one line with every control character shown escaped, so that a message
    from a spec or the data can neither break lines nor drive the terminal it is printed on.

    Examples:
        >>> one_line("a\nb\x1b[31m red\x1b]8;;https://x\x07")
        'a\\nb\\x1b[31m red\\x1b]8;;https://x\\x07'
    """
    return _CONTROL.sub(_escaped, text)


def _escaped(match: re.Match[str]) -> str:
    character = match.group()
    named = {"\n": "\\n", "\r": "\\r", "\t": " "}
    if character in named:
        return named[character]
    code = ord(character)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


class ImpactError(Exception):
    """Base class: a problem impact explains in one line.

    Line breaks in the message (a key or value from a spec can hold one) are escaped.
    """

    exit_code: int = EXIT_FAILED

    def __init__(self, message: str = "", *args: object) -> None:
        super().__init__(one_line(str(message)), *args)


class SpecError(ImpactError):
    """A launch spec, or an argument naming part of it, is wrong.

    Attributes:
        problems: every problem found, one full line each with the file (the message names
            the first).
    """

    exit_code = EXIT_BAD_INPUT

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = [one_line(problem) for problem in problems or [message]]


class DataError(ImpactError):
    """The data do not meet the contract, or are not complete for the checkpoint."""

    exit_code = EXIT_BAD_INPUT


class DataNotReady(DataError):
    """The data end before the checkpoint needs them: the review stays due."""


class RegistrationError(ImpactError):
    """A registration lock is missing where required, unreadable, or altered."""

    exit_code = EXIT_BAD_INPUT


class ReviewLocked(ImpactError):
    """Another run of the same review (spec and checkpoint) is under way."""

    exit_code = EXIT_LOCKED


class ReviewFailed(ImpactError):
    """A review notebook raised an error while it ran.

    Like papermill's ``PapermillExecutionError``, it carries where the run failed.

    Attributes:
        notebook: the executed notebook, kept for inspection.
        cell_index: index of the failing cell, or None when the failure was outside a cell.
        ename: the class name of the exception raised in the notebook.
        evalue: its message.
    """

    exit_code = EXIT_FAILED

    def __init__(
        self,
        message: str,
        *,
        notebook: Path | None = None,
        cell_index: int | None = None,
        ename: str = "",
        evalue: str = "",
    ) -> None:
        super().__init__(message)
        self.notebook = notebook
        self.cell_index = cell_index
        self.ename = ename
        self.evalue = evalue


class ReviewInterrupted(ReviewFailed):
    """The run was interrupted; its notebook so far is kept, nothing was published."""

    exit_code = EXIT_INTERRUPTED
