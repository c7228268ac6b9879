"""The `impact` command.

Exit codes: 0 done (whatever the verdict); 1 failed while running; 2 bad input or data not
ready.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click

from impact import spec as spec_module
from impact.errors import EXIT_BAD_INPUT, ImpactError, SpecError

F = TypeVar("F", bound=Callable[..., Any])

EXIT_CODES = """\b
Exit codes:
  0  done, whatever the verdict
  1  failed while running (the failed notebook is kept)
  2  bad input, or data not ready for the checkpoint
"""


def _one_line_errors(command: F) -> F:
    """Print an ImpactError as one line on stderr and exit with its code."""

    @wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except ImpactError as error:
            click.echo(f"error: {error}", err=True)
            sys.exit(error.exit_code)

    return wrapper  # type: ignore[return-value]


@click.group(epilog=EXIT_CODES)
@click.version_option(package_name="impact")
def main() -> None:
    """Post-launch impact reviews against pre-registered success criteria."""


@main.command(epilog=EXIT_CODES)
@click.argument("spec_path", metavar="SPEC", type=click.Path(path_type=Path))
@_one_line_errors
def validate(spec_path: Path) -> None:
    """Check a launch spec and print a summary of it."""
    try:
        loaded = spec_module.load(spec_path)
    except SpecError as error:
        for problem in error.problems:
            click.echo(f"error: {spec_path}: {problem}", err=True)
        sys.exit(EXIT_BAD_INPUT)
    primary = loaded.metrics.primary
    click.echo(f"{spec_path}: valid launch spec {loaded.id!r} ({loaded.design})")
    click.echo(f"  {loaded.title}, launch {loaded.launch_date}, owner {loaded.owner}")
    reviews = ", ".join(spec_module.format_duration(days) for days in loaded.reviews)
    click.echo(f"  reviews: {reviews} (the last is final)")
    if primary is not None:
        click.echo(
            f"  primary: {primary.name} ({primary.kind}), target {primary.target}, "
            f"{primary.direction} is good"
        )
    for guardrail in loaded.metrics.guardrails:
        click.echo(f"  guardrail: {guardrail.name}, margin {guardrail.margin}")
    for metric in loaded.metrics.secondary:
        click.echo(f"  secondary: {metric.name}")
