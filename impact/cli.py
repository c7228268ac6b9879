"""The `impact` command: the group, and the commands about one launch.

Commands import ``impact.runner`` (nbformat, papermill and nbconvert: about a second to load)
only when they run or read a notebook, so that the others answer at once. The commands over
a folder of specs (due, run --due, quarter) are in ``impact.cli_schedule``; the exit codes,
common options and one-line errors in ``impact.cli_common``.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from impact import cli_schedule, formats, message, registry, scaffold, spec_summary, team_templates
from impact import plan as plan_module
from impact import review as review_module
from impact import spec as spec_module
from impact.cli_common import (
    EXIT_CODES,
    KERNEL,
    TODAY,
    OneLineGroup,
    one_line_errors,
    output_dir_option,
)
from impact.errors import EXIT_BAD_INPUT, EXIT_SECTION_FAILED, SpecError, one_line

if TYPE_CHECKING:
    from impact import runner


@click.group(cls=OneLineGroup, epilog=EXIT_CODES)
@click.version_option(package_name="impact")
def main() -> None:
    """Post-launch impact reviews against pre-registered success criteria."""


@main.command(epilog=EXIT_CODES)
@click.argument("spec_path", metavar="SPEC", type=click.Path(path_type=Path))
@one_line_errors
def validate(spec_path: Path) -> None:
    """Check a launch spec and print a summary of it."""
    try:
        loaded = spec_module.load(spec_path)
    except SpecError as error:
        for problem in error.problems:
            click.echo(f"error: {problem}", err=True)
        sys.exit(EXIT_BAD_INPUT)
    click.echo(f"{spec_path}: valid launch spec {loaded.id!r} ({loaded.design})")
    for line in spec_summary.summary(loaded):
        click.echo(f"  {line}")
    if loaded.template is not None:
        click.echo(f"  template: {team_templates.find(loaded)}")


def _warn_failed_sections(sections: list[dict[str, Any]], consequence: str) -> None:
    """One warning line on stderr for each team section that failed."""
    for broken in sections:
        click.echo(
            one_line(
                f"warning: a team section failed: {message.failed_section(broken)}; {consequence}"
            ),
            err=True,
        )


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
    _warn_failed_sections(published.sections_failed, "the report shows it, the verdict stands")


@main.command(epilog=EXIT_CODES)
@click.argument("spec_path", metavar="SPEC", type=click.Path(path_type=Path))
@click.option(
    "--checkpoint",
    help="A registered review (28d, 4w) or another duration for a monitoring run; "
    "default: the latest review whose as_of has passed.",
)
@TODAY
@output_dir_option("Where notebooks/ and reports/ go.")
@click.option("--data-source", help="Read this folder or file instead of the spec's data.source.")
@KERNEL
@one_line_errors
def review(
    spec_path: Path,
    checkpoint: str | None,
    today: str | None,
    output_dir: Path,
    data_source: str | None,
    kernel: str | None,
) -> None:
    """Run a review of SPEC and publish its report and verdict.json."""
    from impact import engine, preflight

    day = review_module.parse_today(today)
    # The checks start on a helper thread before the notebook stack is imported (about 2 s
    # on one core), so that the two overlap: see impact/preflight.py.
    checks = preflight.start(
        str(spec_path),
        checkpoint,
        day,
        data_source,
        output_dir,
        metrics_ahead=engine.runs_here(kernel),
    )
    try:
        from impact import runner  # lazy: see the module docstring
    except BaseException:
        checks.abandon()
        raise
    published = runner.review(
        spec_path,
        checkpoint=checkpoint,
        today=day,
        output_dir=output_dir,
        data_source=data_source,
        kernel_name=kernel,
        checks=checks,
    )
    _print_published(published)
    if published is not None and published.sections_failed:
        sys.exit(EXIT_SECTION_FAILED)


@main.command(epilog=EXIT_CODES)
@click.argument("notebook", type=click.Path(path_type=Path))
@one_line_errors
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
    _warn_failed_sections(found.payload["sections_failed"], "the verdict stands")
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
@one_line_errors
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
@one_line_errors
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
@one_line_errors
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
@one_line_errors
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
@one_line_errors
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
@one_line_errors
def amend(spec_path: Path, reason: str) -> None:
    """Record a change to a registered SPEC as a numbered amendment, in the open."""
    loaded = spec_module.load(spec_path)
    now = dt.datetime.now(dt.UTC)
    entry = registry.amend(loaded, reason=reason, now=now)
    click.echo(one_line(f"amendment {entry['number']} of {loaded.id} at {entry['at']}: {reason}"))
    for change in entry["changes"]:
        kind = "deciding" if change["deciding"] else "words only"
        click.echo(f"  {registry.change_words(change)} ({kind})")
    if now.date() >= loaded.launch_date:
        click.echo("  warning: after launch; every report will show this amendment")


@main.command(epilog=EXIT_CODES)
@click.argument("spec_path", metavar="SPEC", type=click.Path(path_type=Path))
@TODAY
@one_line_errors
def status(spec_path: Path, today: str | None) -> None:
    """Show SPEC's registration, its amendments and any difference from its lock.

    Exit 2 when a deciding field differs from the lock (the verdicts would be invalid).
    """
    loaded = spec_module.load(spec_path)
    state = registry.check(loaded)
    if not state.registered:
        click.echo(f"{loaded.id}: not registered (no {registry.lock_path(loaded).name})")
        if review_module.parse_today(today) < loaded.launch_date:
            click.echo(f"  register before {loaded.launch_date}: impact register {spec_path}")
        else:
            click.echo(
                f"  launched {loaded.launch_date} without a registration: impact register "
                f"{spec_path} still freezes the criteria, and every review will say they were "
                "registered after launch"
            )
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
            click.echo(one_line(f"    {registry.change_words(change)}"))
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
        click.echo(one_line(f"  changed {registry.change_words(change)} ({kind})"))
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
@one_line_errors
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
    plan_module.sizable(loaded)  # an adoption review: said before asking for --daily-units
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
        assert item.effect is not None  # planned: the effect is known
        size = formats.change(formats.of(item.metric), item.effect)
        goal = (
            f"to find the target {size}"
            if item.role == "primary"
            else f"to show it stayed within its margin {size} if nothing changed"
        )
        click.echo(
            f"{head}: {item.units:,} units ({arms}) {goal}, with {item.power:.1%} power -> "
            f"{item.days} days after launch"
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


for _command in (cli_schedule.due, cli_schedule.run_due, cli_schedule.quarter):
    main.add_command(_command)
