"""The `impact` command.

Commands import ``impact.runner`` (nbformat, papermill and nbconvert: about a second to load)
only when they run or read a notebook, so that the others answer at once.

Exit codes: 0 done (whatever the verdict); 1 failed while running; 2 bad input or data not
ready; 3 another run holds the review's lock; 4 (run --due) a notification could not be
delivered and waits in the outbox; 5 published, but a team template's own cell failed;
130 interrupted.
"""

from __future__ import annotations

import datetime as dt
import json
import signal
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click
from tqdm import tqdm

from impact import (
    message,
    outbox,
    portfolio,
    publish,
    registry,
    scaffold,
    schedule,
    settings,
    stopping,
    team_templates,
)
from impact import plan as plan_module
from impact import review as review_module
from impact import spec as spec_module
from impact.errors import (
    EXIT_BAD_INPUT,
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_LOCKED,
    EXIT_SECTION_FAILED,
    EXIT_UNDELIVERED,
    ImpactError,
    SpecError,
    one_line,
)

if TYPE_CHECKING:
    from impact import runner

F = TypeVar("F", bound=Callable[..., Any])

EXIT_CODES = """\b
Exit codes:
  0    done, whatever the verdict
  1    failed while running (the failed notebook is kept under notebooks/<id>/failed/)
  2    bad input, or data not ready for the checkpoint (run --due: a bad --notify
       URL or a bad report look setting, before any review runs)
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


def _output_dir(help_text: str) -> Callable[[F], F]:
    """The --output-dir option (default: the current folder)."""
    return click.option(
        "--output-dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=Path("."),
        show_default=True,
        help=help_text,
    )


def _one_line_errors(command: F) -> F:
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
            for number, handler in previous.items():
                signal.signal(number, handler)
            sys.unraisablehook = hook

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
            click.echo(f"error: {problem}", err=True)
        sys.exit(EXIT_BAD_INPUT)
    click.echo(f"{spec_path}: valid launch spec {loaded.id!r} ({loaded.design})")
    for line in spec_module.summary(loaded):
        click.echo(f"  {line}")
    if loaded.template is not None:
        click.echo(f"  template: {team_templates.find(loaded)}")


def _print_published(published: runner.Published | None) -> None:
    assert published is not None  # only scheduled runs skip a review already done
    verdict = published.verdict
    click.echo(
        f"{verdict['spec_id']} {verdict['checkpoint']}: {verdict['outcome']} "
        f"(action: {verdict['action']})"
    )
    click.echo(f"report:  {published.report.resolve()}")
    click.echo(f"verdict: {published.verdict_path.resolve()}")
    click.echo(f"summary: {published.summary.resolve()}")
    for broken in published.sections_failed:
        click.echo(
            one_line(
                f"warning: a team section failed: {message.failed_section(broken)}; the "
                "report shows it, the verdict stands"
            ),
            err=True,
        )


@main.command(epilog=EXIT_CODES)
@click.argument("spec_path", metavar="SPEC", type=click.Path(path_type=Path))
@click.option(
    "--checkpoint",
    help="A registered review (28d, 4w) or another duration for a monitoring run; "
    "default: the latest review whose as_of has passed.",
)
@TODAY
@_output_dir("Where notebooks/ and reports/ go.")
@click.option("--data-source", help="Read this folder or file instead of the spec's data.source.")
@KERNEL
@_one_line_errors
def review(
    spec_path: Path,
    checkpoint: str | None,
    today: str | None,
    output_dir: Path,
    data_source: str | None,
    kernel: str | None,
) -> None:
    """Run a review of SPEC and publish its report and verdict.json."""
    from impact import runner  # lazy: see the module docstring

    published = runner.review(
        spec_path,
        checkpoint=checkpoint,
        today=today,
        output_dir=output_dir,
        data_source=data_source,
        kernel_name=kernel,
    )
    _print_published(published)
    if published is not None and published.sections_failed:
        sys.exit(EXIT_SECTION_FAILED)


@main.command(epilog=EXIT_CODES)
@click.argument("notebook", type=click.Path(path_type=Path))
@_one_line_errors
def extract(notebook: Path) -> None:
    """Print the verdict.json of an executed review NOTEBOOK (e.g. from plain papermill),
    checked as impact review checks one (the library's review is run again with the
    notebook's parameters), with the team sections that failed in it listed."""
    if not notebook.is_file():
        raise SpecError(f"{notebook}: no such notebook; give the path of an executed review")
    from impact import extraction  # lazy: see the module docstring

    found = extraction.extracted(notebook)
    click.echo(json.dumps(found.payload, indent=2, ensure_ascii=False))
    for warning in found.warnings:
        click.echo(f"warning: {warning}", err=True)
    for broken in found.payload["sections_failed"]:
        click.echo(
            one_line(
                f"warning: a team section failed: {message.failed_section(broken)}; the "
                "verdict stands"
            ),
            err=True,
        )
    if found.payload["sections_failed"]:
        sys.exit(EXIT_SECTION_FAILED)


@main.command(epilog=EXIT_CODES)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="Folder for data/demo, specs/, notebooks/ and reports/.",
)
@click.option(
    "--units",
    type=click.IntRange(min=500),
    help="experiment: users who might visit, those who do become units (default 60,000); "
    "rollout: units (default 40,000).",
)
@click.option(
    "--design",
    type=click.Choice(["experiment", "prepost", "adoption", "rollout"]),
    default="experiment",
    show_default=True,
    help="experiment: an A/B test of a one-page checkout; prepost: a banner shown to "
    "everyone, reviewed against a modelled counterfactual; adoption: who found, tried and "
    "came back to a feature released to everyone; rollout: a staged release (10% then 50%) "
    "that helps one platform and hurts another.",
)
@click.option(
    "--portfolio",
    is_flag=True,
    help="Instead: a quarter of thirteen launches by two teams with bets and known truths "
    "(one team overconfident), each reviewed, then the quarter review (impact quarter).",
)
@TODAY
@_one_line_errors
def demo(out: Path, units: int | None, design: str, portfolio: bool, today: str | None) -> None:
    """Generate a demo launch's data, review it, and print where the report is."""
    if units is not None and (portfolio or design not in ("experiment", "rollout")):
        raise click.UsageError("--units applies to the experiment and rollout demos only.")
    if portfolio:
        _demo_portfolio(out, today)
        return
    from impact import demo as demo_module  # lazy: pyarrow's writer, for this command only

    if design == "adoption":
        data_folder = out / "data" / "demo-adoption"
        truth = demo_module.generate_adoption(data_folder)
        click.echo(f"demo data: {truth.units:,} users in {data_folder}")
    elif design == "rollout":
        from impact import demo_rollout

        data_folder = out / "data" / "demo-rollout"
        truth = demo_rollout.generate_rollout(data_folder, units=units or 40_000)
        click.echo(f"demo data: {truth.units:,} units in {data_folder}")
    elif design == "prepost":
        data_folder = out / "data" / "demo-prepost"
        demo_module.generate_series(data_folder)
        click.echo(
            f"demo data: {demo_module.SERIES_HISTORY_DAYS} days before launch in {data_folder}"
        )
    else:
        data_folder = out / "data" / "demo"
        truth = demo_module.generate(data_folder, units=units or 60_000)
        click.echo(f"demo data: {truth.units:,} units in {data_folder}")
    spec_path = demo_module.write_demo_spec(out / "specs", design)
    from impact import runner  # lazy: see the module docstring

    published = runner.review(spec_path, today=today, output_dir=out)
    _print_published(published)


def _demo_portfolio(out: Path, today: str | None) -> None:
    """impact demo --portfolio: a quarter of launches, reviewed, then the quarter review."""
    from impact import portfolio_demo, quarter_run, runner  # lazy: see the module docstring

    paths = portfolio_demo.generate(out)
    click.echo(f"demo data: {len(paths)} launches in {out / 'data' / 'portfolio'}")
    for path in paths:
        published = runner.review(path, today=today, output_dir=out)
        assert published is not None
        verdict = published.verdict
        click.echo(f"  {verdict['spec_id']:20} {verdict['checkpoint']:4} {verdict['outcome']}")
    done = quarter_run.run(
        paths[0].parent, quarter_label=portfolio_demo.QUARTER, today=today, output_dir=out
    )
    hit = done.data["hit_rate"]
    click.echo(
        f"quarter {done.data['period']['label']}: {hit['k']} of {hit['n']} bets met their "
        f"target; calibration: {done.data['calibration']['judgement']}"
    )
    click.echo(f"report:  {done.report.resolve()}")
    click.echo(f"json:    {done.document.resolve()}")
    click.echo(f"summary: {done.summary.resolve()}")


@main.command(epilog=EXIT_CODES)
@click.option(
    "--design",
    type=click.Choice(["experiment", "prepost", "adoption"]),
    default="experiment",
    show_default=True,
    help="The kind of launch review.",
)
@click.option(
    "--id",
    "spec_id",
    default="my-launch",
    show_default=True,
    help="The launch's id: lower-case letters, digits and dashes.",
)
@click.option(
    "--dir",
    "folder",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("specs"),
    show_default=True,
    help="Where to write <id>.yaml.",
)
@_one_line_errors
def new(design: str, spec_id: str, folder: Path) -> None:
    """Write a commented launch spec to fill in."""
    today = dt.datetime.now(dt.UTC).date()
    path = scaffold.write(folder, spec_id, design=design, today=today)
    click.echo(f"wrote {path}: fill in every <fill in: ...>, then run impact validate {path}")


@main.group(epilog=EXIT_CODES)
def template() -> None:
    """Team templates: a built-in review template with a place for your own cells."""


@template.command(name="new", epilog=EXIT_CODES)
@click.argument("name")
@click.option(
    "--from",
    "design",
    type=click.Choice(list(team_templates.DESIGNS)),
    required=True,
    help="The built-in template to start from (the design of the specs that will use it).",
)
@click.option(
    "--dir",
    "folder",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("templates"),
    show_default=True,
    help="Where to write <name>.ipynb.",
)
@_one_line_errors
def template_new(name: str, design: str, folder: Path) -> None:
    """Write NAME.ipynb: the built-in DESIGN template plus a section for your team's cells."""
    path = team_templates.new(name, design=design, folder=folder)
    chosen = (
        f"template: {name}"
        if folder.name == "templates"
        else f"template: to its path relative to the spec (a name is looked up only in a "
        f"templates/ folder), such as ../{folder.as_posix()}/{name}.ipynb"
    )
    click.echo(
        f"wrote {path}: add your cells in its team section, then set {chosen} in specs whose "
        f"design is {design}"
    )


@main.command(epilog=EXIT_CODES)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the schema to this file instead of printing it.",
)
@_one_line_errors
def schema(out: Path | None) -> None:
    """Print the JSON Schema of the launch spec format (for editors' YAML support)."""
    text = json.dumps(spec_module.json_schema(), indent=2) + "\n"
    if out is None:
        click.echo(text, nl=False)
        return
    out.write_text(text, encoding="utf-8")
    click.echo(f"wrote {out}")


@main.command(epilog=EXIT_CODES)
@click.argument("spec_path", metavar="SPEC", type=click.Path(path_type=Path))
@_one_line_errors
def register(spec_path: Path) -> None:
    """Freeze SPEC before launch: write <stem>.lock.json beside it (never overwritten)."""
    loaded = spec_module.load(spec_path)
    now = dt.datetime.now(dt.UTC)
    path = registry.register(loaded, now=now)
    entry = registry.read_lock(path)["entries"][0]
    click.echo(f"registered {loaded.id} at {entry['at']}: {path}")
    click.echo(f"  sha256 {entry['sha256']}")
    if now.date() >= loaded.launch_date:
        click.echo(
            f"  warning: launch_date {loaded.launch_date} has passed; reports will say this "
            "spec was registered after launch"
        )
    if not entry["git_committed"]:
        click.echo("  note: commit the spec and its lock so that git history backs the time")


@main.command(epilog=EXIT_CODES)
@click.argument("spec_path", metavar="SPEC", type=click.Path(path_type=Path))
@click.option("--reason", required=True, help="Why the criteria change (kept in the lock).")
@_one_line_errors
def amend(spec_path: Path, reason: str) -> None:
    """Record a change to a registered SPEC as a numbered amendment, in the open."""
    loaded = spec_module.load(spec_path)
    now = dt.datetime.now(dt.UTC)
    entry = registry.amend(loaded, reason=reason, now=now)
    click.echo(one_line(f"amendment {entry['number']} of {loaded.id} at {entry['at']}: {reason}"))
    for change in entry["changes"]:
        kind = "deciding" if change["deciding"] else "words only"
        click.echo(f"  {change['field']}: {change['old']!r} -> {change['new']!r} ({kind})")
    if now.date() >= loaded.launch_date:
        click.echo("  warning: after launch; every report will show this amendment")


@main.command(epilog=EXIT_CODES)
@click.argument("spec_path", metavar="SPEC", type=click.Path(path_type=Path))
@_one_line_errors
def status(spec_path: Path) -> None:
    """Show SPEC's registration, its amendments and any difference from its lock.

    Exit 2 when a deciding field differs from the lock (the verdicts would be invalid).
    """
    loaded = spec_module.load(spec_path)
    state = registry.check(loaded)
    if not state.registered:
        click.echo(f"{loaded.id}: not registered (no {registry.lock_path(loaded).name})")
        click.echo(f"  register before {loaded.launch_date}: impact register {spec_path}")
        return
    demo_note = " (demo fixture)" if state.fixture else ""
    late = " after launch" if state.registered_after_launch else ""
    click.echo(one_line(f"{loaded.id}: registered {state.registered_at}{late}{demo_note}"))
    for amendment in state.amendments:
        click.echo(  # the lock's words, shown escaped: a lock is a file anyone can edit
            one_line(
                f"  amendment {amendment['number']} {amendment['at']} ({amendment['when']}): "
                f"{amendment['reason']}"
            )
        )
        for change in amendment["changes"]:
            click.echo(one_line(f"    {change['field']}: {change['old']!r} -> {change['new']!r}"))
    if state.template_changed:
        what = "selected after" if state.template_sha256 is None else "changed since"
        click.echo(
            f"  the team template ({loaded.template}) was {what} registration "
            "(words only: it shapes the report, never the verdict)"
        )
    if not state.changed_fields:
        click.echo("  the spec matches its lock")
        return
    for change in state.changed_fields:
        kind = "DECIDING: the verdict will be invalid" if change["deciding"] else "words only"
        if registry.is_bet(change["field"]):
            kind = "the bet: shown, never deciding"
        click.echo(
            one_line(
                f"  changed {change['field']}: {change['old']!r} -> {change['new']!r} ({kind})"
            )
        )
    if state.tampered:
        click.echo(
            f"error: {spec_path}: a deciding field differs from the lock; restore it, or "
            f"record the change with impact amend {spec_path} --reason",
            err=True,
        )
        sys.exit(EXIT_BAD_INPUT)


@main.command(epilog=EXIT_CODES)
@click.argument("spec_path", metavar="SPEC", type=click.Path(path_type=Path))
@click.option(
    "--daily-units",
    type=click.FloatRange(min=0, min_open=True),
    help="Eligible units exposed per day once launched (both arms); experiments only.",
)
@click.option(
    "--accrual-end",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="The first day without new units (installs stop); default: the spec's data.accrual_end.",
)
@click.option(
    "--total-units",
    type=click.FloatRange(min=0, min_open=True),
    help="The most units accrual will bring in all (both arms).",
)
@_one_line_errors
def plan(
    spec_path: Path,
    daily_units: float | None,
    accrual_end: dt.datetime | None,
    total_units: float | None,
) -> None:
    """Units and days SPEC's final review needs for its target and margins (a prepost
    spec: what its pre-period lets the final review detect)."""
    loaded = spec_module.load(spec_path)
    if loaded.design == "prepost":
        if daily_units is not None or accrual_end is not None or total_units is not None:
            raise click.UsageError(
                "--daily-units, --accrual-end and --total-units size experiments; a prepost "
                "plan reads the pre-period instead: run impact plan SPEC alone."
            )
        from impact import plan_prepost  # lazy: statsmodels, for this design only

        for line in plan_prepost.lines(loaded, plan_prepost.plan(loaded)):
            click.echo(line)
        return
    if daily_units is None:
        raise click.UsageError("Missing option '--daily-units' (units exposed per day).")
    found = plan_module.plan(
        loaded,
        daily_units=daily_units,
        accrual_end=accrual_end.date() if accrual_end else None,
        total_units=total_units,
    )
    reviews = ", ".join(spec_module.format_duration(days) for days in loaded.reviews)
    stops = (
        f", accrual stops at {found.total_units:,.0f} units"
        if found.total_units is not None
        else ""
    )
    click.echo(
        f"{loaded.id}: {daily_units:,.0f} units a day{stops}, reviews at {reviews}; the final "
        f"look's level is {found.final_level:.4g} (alpha {loaded.decision.alpha:g} spent over "
        "the looks)"
    )
    for item in found.metrics:
        head = f"  {item.role} {item.metric.name}"
        if not item.reachable:
            click.echo(f"{head}: {item.note}")
            continue
        if item.units is None:
            click.echo(f"{head}: cannot plan: {item.note}")
            continue
        arms = (
            "over the stages, each split as registered"
            if loaded.rollout
            else f"{item.units / 2:,.0f} per arm at an even split"
        )
        click.echo(
            f"{head}: {item.units:,} units ({arms}) "
            f"for {item.effect:g} at {item.power:.1%} power -> {item.days} days after launch"
        )
    _plan_stages(loaded, found)
    said = {f"{item.metric.name} {item.note}" for item in found.metrics if not item.reachable}
    for warning in found.warnings:
        if warning not in said:  # an unreachable metric's line above already says it
            click.echo(f"  warning: {warning}")
    if not found.warnings:
        click.echo("  the final review comes late enough for every metric planned")


def _plan_stages(loaded: spec_module.LaunchSpec, found: plan_module.Plan) -> None:
    """The plan's lines for rollout stages and segment values."""
    treatment, control = loaded.treatment, loaded.control
    for stage in found.stages:
        click.echo(
            f"  stage {stage.index + 1} from {stage.start} ({stage.share:.0%} {treatment}): "
            f"{stage.units:,.0f} units ({stage.control:,.0f} {control}, "
            f"{stage.treatment:,.0f} {treatment}) by the final look"
        )
    if found.stage_power is not None:
        click.echo(
            f"  power for the target over these stages at the final look: "
            f"{found.stage_power:.1%} (the effect stratified over stages)"
        )
    for segment in loaded.segments:
        shares = ", ".join(f"{p:.1%} with {q:.0%} of the units" for q, p in found.segment_power)
        if shares:
            click.echo(
                f"  power for the target within one {segment.column} value: {shares} (before "
                "the q-value adjustment across segment cells)"
            )


@main.command(epilog=EXIT_CODES)
@click.argument("specs_dir", default="specs", type=click.Path(path_type=Path))
@TODAY
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@_output_dir("Where reports/ are.")
@_one_line_errors
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
    schedule.save_listing(output_dir, found, today=day)
    portfolio.write(output_dir, today=day, look=look)
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


@main.command(name="run", epilog=EXIT_CODES)
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
@_output_dir("Where notebooks/ and reports/ go.")
@KERNEL
@_one_line_errors
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
    published = sorted(key for key, stamp in after.items() if before.get(key) != stamp)
    delivery = None
    if notify is not None and not interrupted:
        delivery = outbox.deliver(output_dir, notify)
    listed = [e for s in specs for e in schedule.entries(s, today=day, output=output_dir)]
    schedule.save_listing(output_dir, listed, today=day)
    portfolio.write(output_dir, today=day, look=look)
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


@main.command(epilog=EXIT_CODES)
@click.argument("specs_dir", default="specs", type=click.Path(path_type=Path))
@click.option("--quarter", "quarter_label", help="The quarter to review, such as 2026Q4.")
@click.option("--from", "start", help="Or a period: its first day, YYYY-MM-DD (with --to).")
@click.option("--to", "end", help="The period's last day, YYYY-MM-DD (with --from).")
@TODAY
@_output_dir("Where reports/ are, and where reports/quarters/ goes.")
@KERNEL
@_one_line_errors
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


def _repair(output: Path) -> None:
    """Finish or roll back what crashed runs left, and say so (stderr)."""
    for line in publish.repair(output):
        click.echo(f"repaired: {line}", err=True)


def _run_summary(
    records: list[schedule.RunRecord],
    listed: list[schedule.Entry],
    published: list[tuple[str, str]],
) -> None:
    """The table of what ran, the superseded interims, and exactly what was published."""
    click.echo(f"{'launch':28} {'review':7} {'status':10} detail")
    for record in sorted(records, key=lambda r: (r.spec_id, r.label)):
        detail = record.detail if record.status == "done" else record.detail[:160]
        click.echo(f"{record.spec_id:28} {record.label:7} {record.status:10} {detail}")
    ran = {(record.spec_id, record.label) for record in records}
    for entry in listed:  # a superseded interim not checked in this run (its line says why)
        if entry.state == "superseded" and (entry.spec.id, entry.label) not in ran:
            click.echo(f"{entry.spec.id:28} {entry.label:7} {'superseded':10} {entry.detail}")
    if not records:
        click.echo("nothing is due")
    names = ", ".join(f"{spec_id} {label}" for spec_id, label in published)
    click.echo(f"published: {names or 'nothing'}")
