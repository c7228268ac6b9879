"""Scheduling: due states, run --due in parallel, webhooks, the portfolio and its hit rate."""

from __future__ import annotations

import datetime as dt
import http.server
import json
import shutil
import subprocess
import sys
import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import DEMO_SPEC, impact_cli

from impact import demo, layout, portfolio, runner, schedule
from impact import spec as spec_module


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("data") / "demo"
    demo.generate(folder, units=3000)
    return folder


def _launches(root: Path, data: Path, count: int = 3) -> Path:
    """``count`` launches on the same data, with launch dates a week apart."""
    specs = root / "specs"
    (specs / "team").mkdir(parents=True)
    for index in range(count):
        document = yaml.safe_load(DEMO_SPEC.read_text())
        document["id"] = f"launch-{index}"
        document["title"] = f"Launch {index}"
        document["data"]["source"] = str(data)
        folder = specs / "team" if index % 2 else specs
        (folder / f"launch-{index}.yaml").write_text(yaml.safe_dump(document, sort_keys=False))
    return specs


@pytest.mark.parametrize(
    ("today", "states"),
    [
        ("2026-09-28", ["upcoming", "upcoming"]),
        ("2026-09-29", ["due", "upcoming"]),
        ("2026-10-26", ["due", "upcoming"]),
        ("2026-10-27", ["superseded", "due"]),  # a catch-up runs the final look only
    ],
)
def test_states_at_the_checkpoint_boundaries(
    tmp_path: Path, data: Path, today: str, states: list[str]
) -> None:
    specs = _launches(tmp_path, data, count=1)
    loaded = spec_module.load(specs / "launch-0.yaml")
    found = schedule.entries(loaded, today=dt.date.fromisoformat(today), output=tmp_path)
    assert [e.state for e in found] == states
    assert [e.date.isoformat() for e in found] == ["2026-09-29", "2026-10-27"]


def _verdict(output: Path, spec_id: str, label: str, outcome: str) -> None:
    path = layout.verdict_path(output, spec_id, label)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"schema_version": 1, "outcome": outcome}))


def test_done_decided_and_failed(tmp_path: Path, data: Path) -> None:
    loaded = spec_module.load(_launches(tmp_path, data, count=1) / "launch-0.yaml")
    today = dt.date(2026, 11, 26)
    _verdict(tmp_path, "launch-0", "28d", "ship")
    assert [
        (e.state, e.detail) for e in schedule.entries(loaded, today=today, output=tmp_path)
    ] == [
        ("done", "ship"),
        ("decided", "ship at 28d"),
    ]
    _verdict(tmp_path, "launch-0", "28d", "keep_running")
    note = layout.failure_note(tmp_path, "launch-0", "56d")
    note.parent.mkdir(parents=True)
    note.write_text("launch-0 56d: the review failed in cell 4 (RuntimeError: boom)\n")
    assert [e.state for e in schedule.entries(loaded, today=today, output=tmp_path)] == [
        "done",
        "failed",
    ]


def test_a_folder_with_invalid_specs_is_listed_whole(tmp_path: Path, data: Path) -> None:
    specs = _launches(tmp_path, data, count=3)
    (specs / "broken.yaml").write_text("spec_version: 1\nid: [unclosed\n")
    (specs / "copy.yaml").write_text((specs / "launch-0.yaml").read_text())
    (specs / "notes.yaml").write_text("just: a yaml file\n")
    done = impact_cli("due", "specs", "--today", "2026-11-26", "--json", cwd=tmp_path)
    assert done.returncode == 2
    listing = json.loads(done.stdout)
    assert sorted({r["spec_id"] for r in listing["reviews"]}) == [
        "launch-0",
        "launch-1",
        "launch-2",
    ]
    errors = {Path(e["spec"]).name: e["error"] for e in listing["errors"]}
    # files are read in sorted order: copy.yaml takes the id first
    assert set(errors) == {"broken.yaml", "launch-0.yaml"}
    assert "invalid YAML" in errors["broken.yaml"]
    assert "id: 'launch-0' is taken by" in errors["launch-0.yaml"]


def _strip(verdict: dict[str, Any]) -> dict[str, Any]:
    """A verdict without its run block, nor where an earlier look's boundary was read from:
    with --jobs 2 a final may run before its interim publishes (the boundary is the same)."""
    stripped = {k: v for k, v in verdict.items() if k != "run"}
    for earlier in stripped.get("sequential", {}).get("earlier", []):
        earlier.pop("source", None)
    return stripped


@pytest.fixture(scope="module")
def webhook() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    received: list[dict[str, Any]] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers["Content-Length"])
            received.append(json.loads(self.rfile.read(length)))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            return None

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", received
    server.shutdown()
    server.server_close()


def test_run_due_with_jobs_1_and_2_gives_the_same_verdicts(
    tmp_path: Path, data: Path, webhook: tuple[str, list[dict[str, Any]]]
) -> None:
    url, received = webhook
    results = {}
    for jobs in (1, 2):
        root = tmp_path / f"jobs{jobs}"
        _launches(root, data, count=3)
        args = ["run", "--due", "specs", "--today", "2026-11-26", "--jobs", str(jobs)]
        if jobs == 2:
            args += ["--notify", url]
        done = impact_cli(*args, cwd=root)
        assert done.returncode == 0, done.stderr
        results[jobs] = {
            p.relative_to(root).as_posix(): _strip(json.loads(p.read_text()))
            for p in sorted((root / "reports").glob("*/*.json"))
        }
        again = impact_cli("run", "--due", "specs", "--today", "2026-11-26", cwd=root)
        assert again.returncode == 0 and "nothing is due" in again.stdout  # idempotent
        index = (root / "reports" / "index.html").read_text()
        assert "Launch 0 (launch-0)" in index and "<script" not in index
    assert len(results[1]) == 3  # the 28d interims are superseded by their due finals
    assert results[1] == results[2]
    assert len(received) == 3
    assert all(set(message) == {"text", "idempotency_key"} for message in received)
    assert any(message["text"].startswith("*Launch 1*: 56d final review:") for message in received)


def test_a_failing_review_leaves_the_others(tmp_path: Path, data: Path) -> None:
    specs = _launches(tmp_path, data, count=2)
    broken = specs / "launch-0.yaml"
    broken.write_text(broken.read_text().replace("event: purchase\n", "event: purchse\n", 1))
    done = impact_cli("run", "--due", "specs", "--today", "2026-11-26", cwd=tmp_path)
    assert done.returncode == 1
    assert "launch-0" in done.stdout and "bad_input" in done.stdout
    assert (tmp_path / "reports" / "launch-1" / "56d.json").is_file()
    assert not (tmp_path / "reports" / "launch-0").exists()


def test_two_schedulers_never_run_a_review_twice(tmp_path: Path, data: Path) -> None:
    _launches(tmp_path, data, count=2)
    command = [sys.executable, "-m", "impact", "run", "--due", "specs", "--today", "2026-11-26"]
    first = subprocess.Popen(
        command, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    second = subprocess.Popen(
        command, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    for process in (first, second):
        process.communicate(timeout=900)
        assert process.returncode in (0, 3)
    assert len(list((tmp_path / "reports").glob("*/*.json"))) == 2  # 56d of each launch
    assert not list((tmp_path / "reports").glob("*/*.history"))  # nothing was published twice


def _made(
    spec_id: str,
    checkpoint: str,
    outcome: str,
    status: str,
    *,
    final: bool,
    as_of: str = "2026-10-27",
) -> dict[str, Any]:
    return {
        "schema_version": 1,
        "spec_id": spec_id,
        "title": spec_id,
        "checkpoint": checkpoint,
        "final": final,
        "as_of": as_of,
        "outcome": outcome,
        "action": outcome,
        "primary": {"status": status},
        "next_review": None,
        "_report": f"{spec_id}/{checkpoint}.html",
    }


def test_hit_rate_on_a_hand_made_portfolio() -> None:
    verdicts = [
        _made("a", "28d", "ship", "target_met", final=False),  # decided early: a hit
        _made("a", "56d", "ship", "target_met", final=True),
        _made("b", "28d", "keep_running", "inconclusive", final=False),
        _made("b", "56d", "iterate", "below_target", final=True),  # a miss
        _made("c", "56d", "invalid", "target_met", final=True),  # invalid: not counted
        _made("d", "28d", "keep_running", "inconclusive", final=False),  # undecided
        _made("e", "28d", "revert", "harm", final=False, as_of="2025-01-01"),  # a miss, long ago
    ]
    assert portfolio.hit_rate(verdicts) == portfolio.HitRate(1, 3)
    assert portfolio.hit_rate(verdicts, since=dt.date(2026, 5, 1)) == portfolio.HitRate(1, 2)
    assert str(portfolio.HitRate(1, 3)) == "33% (1 of 3)"
    page = portfolio.render(
        [*verdicts, _made("<script>x</script>", "56d", "ship", "target_met", final=True)],
        today=dt.date(2026, 11, 26),
    )
    assert "<script>x" not in page and "&lt;script&gt;x" in page


def test_the_portfolio_table_is_aligned_and_lists_each_review_once() -> None:
    first = _made("a", "28d", "keep_running", "inconclusive", final=False)
    earlier = {"report": "a/28d.history/20261001T000000-abcdef.html", "ran": None}
    first.update(next_review="2026-10-27", _history=[{**earlier, "outcome": "keep_running"}])
    second = _made("b", "56d", "ship", "target_met", final=True)
    second["primary"].update(
        name="conversion", format="percent", effect=0.032, ci=[0.0242, 0.0399], alpha=0.0446
    )
    second["primary"]["relative_effect"] = 0.096
    scheduled = [
        {
            "spec_id": "a",
            "title": "a",
            "checkpoint": "56d",
            "date": "2026-10-27",
            "state": "upcoming",
        }
    ]
    page = portfolio.render([first, second], today=dt.date(2026, 11, 26), scheduled=scheduled)
    table = ET.fromstring(page[page.index("<table") : page.index("</table>") + len("</table>")])
    headers = table.findall("./thead/tr/th")
    rows = table.findall("./tbody/tr")
    assert len(rows) == 2 and all(len(row) == len(headers) for row in rows)
    effect = "".join(rows[1][[h.text for h in headers].index("effect at that review")].itertext())
    assert "+3.20 pp (+9.6%), 95.5% CI +2.42 to +3.99 pp" in effect
    links = [a.get("href") for a in rows[0].iter("a")]
    assert "a/28d.html" in links and "a/28d.history/20261001T000000-abcdef.html" in links
    assert page.count("2026-10-27: a") == 1


def test_the_portfolio_links_the_last_earlier_run_and_those_that_said_otherwise(
    tmp_path: Path,
) -> None:
    """Found by a new user: 27 identical reruns were 27 "earlier run" links in one cell."""
    folder = tmp_path / "reports" / "a"
    history = folder / "56d.history"
    history.mkdir(parents=True)
    current = _made("a", "56d", "ship", "target_met", final=True)
    (folder / "56d.json").write_text(json.dumps(current), encoding="utf-8")
    for day in range(1, 28):
        outcome = "iterate" if day in (3, 9) else "ship"
        stamp = f"202611{day:02d}T101500-{day:06x}"
        (history / f"{stamp}.html").write_text("<html></html>", encoding="utf-8")
        (history / f"{stamp}.json").write_text(
            json.dumps({**current, "outcome": outcome}), encoding="utf-8"
        )
    verdicts = portfolio.load_verdicts(tmp_path)
    page = portfolio.render(verdicts, today=dt.date(2026, 11, 28))
    table = ET.fromstring(page[page.index("<table") : page.index("</table>") + len("</table>")])
    headers = [h.text for h in table.findall("./thead/tr/th")]
    cell = table.findall("./tbody/tr")[0][headers.index("reviews")]
    links = [(a.get("href"), a.text) for a in cell.iter("a")]
    assert links == [
        ("a/56d.html", "56d"),
        ("a/56d.history/20261127T101500-00001b.html", "2026-11-27 10:15 ✔ ship"),
        ("a/56d.history/20261109T101500-000009.html", "2026-11-09 10:15 ↻ iterate"),
        ("a/56d.history/20261103T101500-000003.html", "2026-11-03 10:15 ↻ iterate"),
    ]
    words = " ".join("".join(cell.itertext()).split())
    assert "earlier runs (27):" in words
    assert words.endswith("; 24 more, each ship, in 56d.history/")


def test_templates_run_under_plain_papermill(tmp_path: Path, data: Path) -> None:
    specs = _launches(tmp_path, data, count=1)
    template = Path(runner.__file__).parent / "templates" / "experiment.ipynb"
    out = tmp_path / "out.ipynb"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "papermill",
            str(template),
            str(out),
            "-p",
            "spec_path",
            str(specs / "launch-0.yaml"),
            "-p",
            "today",
            "2026-11-26",
            "-p",
            "checkpoint",
            "56d",
            "--cwd",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    extracted = impact_cli("extract", str(out), cwd=tmp_path)
    assert extracted.returncode == 0
    verdict = json.loads(extracted.stdout)
    runner.validate_verdict(verdict)
    assert verdict["spec_id"] == "launch-0" and verdict["checkpoint"] == "56d"
    shutil.rmtree(tmp_path / "specs")


def test_the_portfolio_lists_launches_not_reviewed_yet(tmp_path: Path, data: Path) -> None:
    _launches(tmp_path, data, count=2)
    listed = impact_cli("due", "specs", "--today", "2026-09-15", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    index = (tmp_path / "reports" / "index.html").read_text()
    assert "not reviewed yet" in index
    assert "2026-09-29: Launch 0 (launch-0), 28d" in index
    assert "no decided launches yet" in index


def test_an_interim_never_published_says_so_once_its_final_is_done(
    tmp_path: Path, data: Path
) -> None:
    """A catch-up ran the final and checked the interim, which did not ship or revert: the
    listing must not say a review is still due."""
    loaded = spec_module.load(_launches(tmp_path, data, count=1) / "launch-0.yaml")
    _verdict(tmp_path, "launch-0", "56d", "iterate")
    found = schedule.entries(loaded, today=dt.date(2026, 11, 26), output=tmp_path)
    assert [e.state for e in found] == ["superseded", "done"]
    assert "is due" not in found[0].detail
    assert "56d was reviewed" in found[0].detail
    assert schedule.wanted(found) == []


def test_a_review_published_on_other_data_says_so_in_the_listing(
    tmp_path: Path, data: Path
) -> None:
    loaded = spec_module.load(_launches(tmp_path, data, count=1) / "launch-0.yaml")
    path = layout.verdict_path(tmp_path, "launch-0", "28d")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps({"schema_version": 1, "outcome": "ship", "run": {"data_source_override": "/x"}})
    )
    found = schedule.entries(loaded, today=dt.date(2026, 10, 1), output=tmp_path)
    assert found[0].state == "done"
    assert found[0].detail == "ship (on data from /x, not the spec's)"


def test_a_scheduled_review_leaves_the_index_to_the_run(
    tmp_path: Path, data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Work done once: `impact run --due` rebuilds reports/index.html after all its reviews,
    not after each (a lone `impact review` still rebuilds it)."""
    from click.testing import CliRunner

    from impact.cli import main

    _launches(tmp_path, data, count=2)
    written: list[Path] = []
    real = portfolio.write

    def counted(output: Path, **kwargs: Any) -> Any:
        written.append(Path(output))
        return real(output, **kwargs)

    monkeypatch.setattr(portfolio, "write", counted)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(
        main, ["run", "--due", "specs", "--today", "2026-11-26", "--jobs", "1"]
    )
    assert result.exit_code == 0, result.output
    assert len(list((tmp_path / "reports").glob("*/56d.json"))) == 2
    assert len(written) == 1 and (tmp_path / "reports" / "index.html").exists()


@pytest.mark.parametrize("command", [["due"], ["run", "--due"]])
def test_a_folder_without_specs_leaves_the_reports_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: list[str]
) -> None:
    """A mistyped or empty folder once rewrote the project's reports/schedule.json as an
    empty listing and its portfolio page (found by a new user). Nothing is due there: exit 0,
    as a cron line set up before the first spec expects (examples/cron)."""
    from click.testing import CliRunner

    from impact.cli import main

    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.yaml").write_text("just: notes\n")
    (tmp_path / "reports").mkdir()
    (tmp_path / "reports" / "schedule.json").write_text('{"kept": true}')
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, [*command, "empty", "--today", "2026-11-26"])
    assert result.exit_code == 0, result.output
    assert "note: empty holds no launch spec, here or in a folder below" in result.output
    assert (tmp_path / "reports" / "schedule.json").read_text() == '{"kept": true}'
    assert not (tmp_path / "reports" / "index.html").exists()


def test_the_portfolio_says_which_reviews_are_due_now_and_reads_as_sentences() -> None:
    """Found by a new user: an overdue review listed as upcoming, and 'Hit rate: no decided
    launches yet of decided launches met their target'."""
    late = _made("a", "28d", "keep_running", "inconclusive", final=False)
    late["next_review"] = "2026-10-27"
    soon = _made("b", "28d", "keep_running", "inconclusive", final=False)
    soon["next_review"] = "2026-12-20"
    scheduled = [
        {"spec_id": "c", "title": "c", "checkpoint": "28d", "date": "2026-11-01", "state": "due"},
        {
            "spec_id": "d",
            "title": "d",
            "checkpoint": "28d",
            "date": "2026-11-02",
            "state": "failed",
        },
    ]
    page = portfolio.render([late, soon], today=dt.date(2026, 11, 26), scheduled=scheduled)
    text = "".join(ET.fromstring(page[page.index("<body") : page.index("</body>") + 7]).itertext())
    assert "Hit rate: no decided launches yet; last 6 months: no decided launches yet." in text
    assert "2026-10-27: a (a) (due now: its date has passed)" in text
    assert "2026-12-20: b (b)" in text and "2026-12-20: b (b) (due" not in text
    assert "2026-11-01: c (c), 28d (due now: its date has passed)" in text
    assert "2026-11-02: d (d), 28d (its last run failed: impact due says why)" in text
    assert portfolio.HitRate(1, 2).sentence() == "50% (1 of 2) of decided launches met their target"
