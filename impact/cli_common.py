"""What every `impact` command shares: the exit codes, the common options, and one-line errors.

Exit codes: 0 done (whatever the verdict); 1 failed while running; 2 bad input or data not
ready; 3 another run holds the review's lock; 4 (run --due) a notification could not be
delivered and waits in the outbox; 5 published, but a team template's own cell failed;
130 interrupted.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click

from impact import stopping
from impact.errors import EXIT_INTERRUPTED, ImpactError

__all__ = [
    "EXIT_CODES",
    "KERNEL",
    "TODAY",
    "OneLineGroup",
    "one_line_errors",
    "output_dir_option",
]

F = TypeVar("F", bound=Callable[..., Any])

EXIT_CODES = """\b
Exit codes:
  0    done, whatever the verdict
  1    failed while running (the failed notebook is kept under notebooks/<id>/failed/)
  2    bad input, or data not ready for the checkpoint (run --due: a bad --notify
       URL, report look setting or IMPACT_DUCKDB_MEMORY_LIMIT, before any review runs)
  3    another run of the same review holds its lock
  4    run --due: every review ran, but a notification was not delivered
       (it waits in reports/.outbox/ and is retried by the next run)
  5    published, but a team template's own cell failed: the report shows
       "this section failed" in its place, the verdict stands
  130  interrupted (SIGINT or SIGTERM); nothing was published after the signal
"""


TODAY = click.option("--today", help="The clock, YYYY-MM-DD (default: today's UTC date).")
KERNEL = click.option(
    "--kernel",
    metavar="NAME",
    help="Run the notebook in a fresh Jupyter kernel of this name (such as python3) instead "
    "of in this process: isolated from the runner, about 2 s slower.",
)


def output_dir_option(help_text: str) -> Callable[[F], F]:
    """The --output-dir option (default: the current folder)."""
    return click.option(
        "--output-dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=Path("."),
        show_default=True,
        help=help_text,
    )


def one_line_errors(command: F) -> F:
    """Print an ImpactError as one line on stderr and exit with its code."""

    @wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        stopping.clear()
        # SIGTERM (a scheduler stopping the run) is treated like Ctrl-C, and both are noted
        previous = {
            number: signal.signal(number, stopping.raise_interrupt)
            for number in (signal.SIGINT, signal.SIGTERM)
        }
        hook = sys.unraisablehook
        stopping.quiet_dropped_interrupts()
        try:
            return command(*args, **kwargs)
        except ImpactError as error:
            click.echo(f"error: {error}", err=True)
            sys.exit(error.exit_code)
        except KeyboardInterrupt:
            click.echo("error: interrupted; nothing was published", err=True)
            sys.exit(EXIT_INTERRUPTED)
        finally:
            stopping.finish()
            for number, handler in previous.items():
                signal.signal(number, handler)
            sys.unraisablehook = hook

    return wrapper  # type: ignore[return-value]


class OneLineGroup(click.Group):
    """The command group, with click's own errors (a missing option or argument, an unknown
    command or option, a bad value) on one ``error:`` line that names the command's help,
    exit 2, instead of click's usage, hint and error on three lines."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        if not kwargs.get("standalone_mode", True):
            return super().main(*args, **kwargs)
        try:
            code = super().main(*args, **{**kwargs, "standalone_mode": False})
        except click.UsageError as error:
            where = error.ctx.command_path if error.ctx is not None else "impact"
            message = error.format_message().rstrip(".")
            click.echo(f"error: {message} (see `{where} --help`)", err=True)
            sys.exit(error.exit_code)
        except click.ClickException as error:
            click.echo(f"error: {error.format_message()}", err=True)
            sys.exit(error.exit_code)
        except click.Abort:  # Ctrl-C while the arguments were read
            click.echo("error: interrupted; nothing was published", err=True)
            sys.exit(EXIT_INTERRUPTED)
        # without standalone mode, click returns what --help, --version or ctx.exit gave
        sys.exit(code if isinstance(code, int) and not isinstance(code, bool) else 0)
