"""The `impact` commands over a folder of specs: due, run --due and quarter.

They import ``impact.runner`` (nbformat, papermill and nbconvert) only through
``impact.schedule`` and ``impact.quarter_run`` when they run a review.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

import click
from tqdm import tqdm

from impact import outbox, portfolio, publish, schedule, settings
from impact import review as review_module
from impact.cli_common import EXIT_CODES, KERNEL, TODAY, one_line_errors, output_dir_option
from impact.errors import (
    EXIT_BAD_INPUT,
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_LOCKED,
    EXIT_SECTION_FAILED,
    EXIT_UNDELIVERED,
    one_line,
)
from impact.sources import duckdb_files
from impact.spec import LaunchSpec

__all__ = ["due", "quarter", "run_due"]


@click.command(epilog=EXIT_CODES)
@click.argument("specs_dir", default="specs", type=click.Path(path_type=Path))
@TODAY
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@output_dir_option("Where reports/ are.")
@one_line_errors
def due(specs_dir: Path, today: str | None, as_json: bool, output_dir: Path) -> None:
    """List every review of the specs under SPECS_DIR: upcoming, due, done, decided,
    superseded (an interim whose later look is due: run --due checks it for an early
    decision), failed.

    Specs that do not load are listed as errors, one line each; the exit code is then 2.
    A report set a crashed run left torn is repaired first, and said so.
    """
    day = review_module.parse_today(today)
    look = settings.report_look(specs_dir)
    specs, problems = schedule.find_specs(specs_dir)
    _repair(output_dir)
    found = [e for s in specs for e in schedule.entries(s, today=day, output=output_dir)]
    _list(output_dir, specs_dir, (specs, problems), found, today=day, look=look)
    drifted = [line for loaded in specs for line in schedule.drift(loaded, output_dir)]
    if as_json:
        listing = {
            "today": day.isoformat(),
            "reviews": [entry.to_json() for entry in found],
            "errors": [{"spec": str(p.path), "error": p.message} for p in problems],
            "drift": drifted,
        }
        click.echo(json.dumps(listing, indent=2))
    else:
        click.echo(f"{'launch':28} {'review':7} {'date':10}  {'state':10} detail")
        for entry in found:
            click.echo(
                one_line(
                    f"{entry.spec.id:28} {entry.label:7} {entry.date}  {entry.state:10} "
                    f"{entry.detail}"
                )
            )
        for problem in problems:
            click.echo(f"error: {problem.message}")
        for line in drifted:
            click.echo(f"drift: {line}")
    if problems:
        sys.exit(EXIT_BAD_INPUT)


@click.command(name="run", epilog=EXIT_CODES)
@click.argument("specs_dir", default="specs", type=click.Path(path_type=Path))
@click.option(
    "--due",
    "only_due",
    is_flag=True,
    required=True,
    help="Run every review that is due (or failed before) and not done.",
)
@TODAY
@click.option(
    "--jobs",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Reviews run at once, each in its own process.",
)
@click.option(
    "--notify",
    metavar="URL",
    help='Post each new verdict as {"text": ..., "idempotency_key": ...} to this webhook '
    "(Slack, Teams), with an Idempotency-Key header; a message not accepted waits in "
    "reports/.outbox/ and is retried by every later run.",
)
@click.option(
    "--report-url",
    metavar="BASE",
    help="Where reports/ is served: messages link to BASE/<id>/<N>d.html (default: the "
    "IMPACT_REPORT_URL variable, else the report's path under the output folder).",
)
@output_dir_option("Where notebooks/ and reports/ go.")
@KERNEL
@one_line_errors
def run_due(
    specs_dir: Path,
    only_due: bool,
    today: str | None,
    jobs: int,
    notify: str | None,
    report_url: str | None,
    output_dir: Path,
    kernel: str | None,
) -> None:
    """Run the due reviews of the specs under SPECS_DIR; print a summary.

    An interim review whose later look is due as well (a first run, a catch-up) is
    superseded: it is checked first, and published and posted only when it ships or
    reverts (as a daily run would have); then the later looks are decided. Exit 0 when
    every review ran (or is waiting for data), 1 when any failed, 3 when one was locked by
    another run and none failed, 5 when a team template's own cell failed in a published
    review, 4 when every review ran but a notification waits in the outbox, 130 on SIGINT or
    SIGTERM.
    """
    day = review_module.parse_today(today)
    if notify is not None:
        outbox.check_url(notify)
    if report_url is not None:
        outbox.check_url(report_url, option="--report-url")
    look = settings.report_look(specs_dir)  # a wrong setting: exit 2 before any review
    duckdb_files.check_memory_setting()  # and a memory limit DuckDB cannot read
    specs, problems = schedule.find_specs(specs_dir)
    _repair(output_dir)
    listed = [e for s in specs for e in schedule.entries(s, today=day, output=output_dir)]
    wanted = schedule.wanted(listed)
    for problem in problems:
        click.echo(f"error: {problem.message}", err=True)
    before = publish.stamps(output_dir)
    records: list[schedule.RunRecord] = []
    interactive = sys.stderr.isatty()
    interrupted = False
    try:
        with tqdm(total=len(wanted), disable=not interactive, unit="review") as progress:
            for record in schedule.run_due(
                wanted,
                today=day,
                output=output_dir,
                jobs=jobs,
                kernel=kernel,
                notify=notify is not None,
                report_url=report_url,
            ):
                records.append(record)
                progress.update()
                if not interactive:
                    click.echo(
                        f"{record.spec_id} {record.label}: {record.status} {record.detail}",
                        err=True,
                    )
    except KeyboardInterrupt:
        interrupted = True
    after = publish.stamps(output_dir)
    published = _published(before, after, records)
    delivery = None
    if notify is not None and not interrupted:
        delivery = outbox.deliver(output_dir, notify)
    listed = [e for s in specs for e in schedule.entries(s, today=day, output=output_dir)]
    _list(output_dir, specs_dir, (specs, problems), listed, today=day, look=look)
    _run_summary(records, listed, published)
    for line in [line for loaded in specs for line in schedule.drift(loaded, output_dir)]:
        click.echo(f"drift: {line}")
    waiting = delivery.waiting if delivery else []
    for line in waiting:
        click.echo(f"undelivered: {line}")
    if delivery is not None and delivery.sent:
        click.echo(f"delivered {len(delivery.sent)} message(s) to the webhook")
    if notify is None and outbox.pending(output_dir):
        click.echo(
            f"note: {len(outbox.pending(output_dir))} message(s) wait in reports/.outbox/; "
            "run with --notify URL to deliver them"
        )
    if interrupted:
        names = ", ".join(f"{spec_id} {label}" for spec_id, label in published) or "nothing"
        click.echo(f"error: interrupted; published before the signal: {names}", err=True)
        sys.exit(EXIT_INTERRUPTED)
    statuses = {record.status for record in records}
    if statuses & {"failed", "bad_input", "interrupted"} or problems:
        sys.exit(EXIT_FAILED)
    if "locked" in statuses:
        sys.exit(EXIT_LOCKED)
    if any(record.exit_code == EXIT_SECTION_FAILED for record in records):
        sys.exit(EXIT_SECTION_FAILED)
    if waiting:
        sys.exit(EXIT_UNDELIVERED)


@click.command(epilog=EXIT_CODES)
@click.argument("specs_dir", default="specs", type=click.Path(path_type=Path))
@click.option("--quarter", "quarter_label", help="The quarter to review, such as 2026Q4.")
@click.option("--from", "start", help="Or a period: its first day, YYYY-MM-DD (with --to).")
@click.option("--to", "end", help="The period's last day, YYYY-MM-DD (with --from).")
@TODAY
@output_dir_option("Where reports/ are, and where reports/quarters/ goes.")
@KERNEL
@one_line_errors
def quarter(
    specs_dir: Path,
    quarter_label: str | None,
    start: str | None,
    end: str | None,
    today: str | None,
    output_dir: Path,
    kernel: str | None,
) -> None:
    """The quarterly learning review: did the bets pay off, and are they calibrated?

    Runs the quarter template over the published verdicts of the launches whose deciding
    review falls in the period (default: today's quarter), and publishes
    reports/quarters/<YYYY>-Q<n>.html, .json and .md. SPECS_DIR lists launches not reviewed
    yet as pending. Exit 0 when published, 1 when the notebook failed, 2 on a bad period or
    folder, 3 when another run of the same quarter holds its lock, 130 when interrupted.
    """
    from impact import quarter_run  # lazy: see the module docstring

    published = quarter_run.run(
        specs_dir,
        quarter_label=quarter_label,
        start=start,
        end=end,
        today=today,
        output_dir=output_dir,
        kernel_name=kernel,
    )
    data = published.data
    hit = data["hit_rate"]
    click.echo(
        f"quarter {data['period']['label']}: {hit['k']} of {hit['n']} counted launches met "
        f"their target; calibration: {data['calibration']['judgement']}; "
        f"{len(data['apart'])} apart, {len(data['invalid'])} invalid, "
        f"{len(data['pending'])} pending"
    )
    click.echo(f"report:  {published.report.resolve()}")
    click.echo(f"json:    {published.document.resolve()}")
    click.echo(f"summary: {published.summary.resolve()}")
    for line in quarter_run.warnings(data):
        click.echo(f"warning: {line}", err=True)


def _list(
    output: Path,
    specs_dir: Path,
    found: tuple[list[LaunchSpec], list[schedule.Problem]],
    entries: list[schedule.Entry],
    *,
    today: dt.date,
    look: settings.ReportLook,
) -> None:
    """Write reports/schedule.json and the portfolio page, unless SPECS_DIR holds no spec
    at all (nor a file that failed to load as one): a mistyped or empty folder then says so
    and replaces neither with an empty one."""
    if not any(found):
        click.echo(
            f"note: {specs_dir} holds no launch spec, here or in a folder below; "
            f"{output / 'reports'} was left as it was",
            err=True,
        )
        return
    schedule.save_listing(output, entries, today=today)
    portfolio.write(output, today=today, look=look)


def _shortened(detail: str, limit: int = 300) -> str:
    """A failed review's detail for the table: whole words, at most about ``limit``
    characters (outside a terminal, stderr has each full line as its review ends).

    >>> _shortened("no column 'tv_spend'; columns here: date, orders, market_visits", 50)
    "no column 'tv_spend'; columns here: date, orders, …"
    """
    if len(detail) <= limit:
        return detail
    return detail[:limit].rsplit(" ", 1)[0] + " …"


def _repair(output: Path) -> None:
    """Finish or roll back what crashed runs left, and say so (stderr)."""
    for line in publish.repair(output):
        click.echo(f"repaired: {line}", err=True)


def _published(
    before: dict[tuple[str, str], str],
    after: dict[tuple[str, str], str],
    records: list[schedule.RunRecord],
) -> list[tuple[str, str]]:
    """The review sets this run published: changed in the output folder meanwhile, and not
    a review another run did (skipped, or locked) while this one waited."""
    others = {(r.spec_id, r.label) for r in records if r.status in ("skipped", "locked")}
    return sorted(
        key for key, stamp in after.items() if before.get(key) != stamp and key not in others
    )


def _run_summary(
    records: list[schedule.RunRecord],
    listed: list[schedule.Entry],
    published: list[tuple[str, str]],
) -> None:
    """The table of what ran, the superseded interims, and exactly what was published."""
    click.echo(f"{'launch':28} {'review':7} {'status':10} detail")
    for record in sorted(records, key=lambda r: (r.spec_id, r.label)):
        detail = record.detail if record.status == "done" else _shortened(record.detail)
        click.echo(f"{record.spec_id:28} {record.label:7} {record.status:10} {detail}")
    ran = {(record.spec_id, record.label) for record in records}
    for entry in listed:  # a superseded interim not checked in this run (its line says why)
        if entry.state == "superseded" and (entry.spec.id, entry.label) not in ran:
            click.echo(f"{entry.spec.id:28} {entry.label:7} {'superseded':10} {entry.detail}")
    if not records:
        click.echo("nothing is due")
    names = ", ".join(f"{spec_id} {label}" for spec_id, label in published)
    click.echo(f"published: {names or 'nothing'}")
