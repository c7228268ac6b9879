"""A spec can only describe a launch, never reach the machine (issue 18).

Each case is an attack from the issue, rebuilt and run through the real command line: it
exits 2 with one line, quickly, and prints nothing of any file outside the data.
"""

from __future__ import annotations

import json
import re
import shutil
import time
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from conftest import DEMO_SPEC, demo_launch, replaced

from impact import registry
from impact.cli import main

TODAY = "2026-11-26"
SECRET = "TOPSECRET-8d1f"
SEGMENT = "  split: {control: 0.5, treatment: 0.5}\n"


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("hostile")
    demo_launch(root, units=2000)
    return root


@pytest.fixture
def launch(base: Path, tmp_path: Path) -> Path:
    """A copy of the demo launch, with a secret file beside (not inside) the data folder."""
    root = tmp_path / "launch"
    shutil.copytree(base, root)
    (root / "secret.csv").write_text(f"word\n{SECRET}\n")
    return root


def _spec(root: Path) -> Path:
    return root / "specs" / DEMO_SPEC.name


def _edit(root: Path, old: str, new: str) -> Path:
    path = _spec(root)
    path.write_text(replaced(path.read_text(), (old, new)))
    return path


def _run(*args: str) -> tuple[Result, float]:
    started = time.perf_counter()
    result = CliRunner().invoke(main, list(args))
    return result, time.perf_counter() - started


def _one_line_exit_2(result: Result, pattern: str) -> str:
    assert result.exit_code == 2, (result.stdout, result.stderr, result.exception)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert re.search(pattern, lines[0]), lines[0]
    assert SECRET not in result.stdout + result.stderr
    assert "\x1b" not in result.stdout + result.stderr
    return lines[0]


def _review(root: Path) -> Result:
    result, _ = _run("review", str(_spec(root)), "--output-dir", str(root), "--today", TODAY)
    return result


SEGMENTS = [
    # the issue's own: a cast of a subquery that reads a file through a table function
    (
        "CAST((SELECT string_agg(column0,'|') FROM read_csv('{secret}', header=false, "
        "sep=chr(1))) AS INTEGER)=1",
        r"data\.segment: a subquery \(SELECT .* is not allowed",
    ),
    ("platform IN (SELECT word FROM read_csv('{secret}'))", r"IN takes a list of values"),
    (
        "platform = (SELECT min(word) FROM '{secret}')",
        r"data\.segment: a subquery \(SELECT .* is not allowed",
    ),
    ("read_parquet('https://example.com/x.parquet') IS NOT NULL", r"table function read_parquet"),
    ("getenv('HOME') = 'x'", r"the function getenv\(\) is not allowed"),
]


@pytest.mark.parametrize(("segment", "message"), SEGMENTS)
@pytest.mark.parametrize("command", ["validate", "review"])
def test_segment_cannot_reach_files_or_the_network(
    launch: Path, segment: str, message: str, command: str
) -> None:
    text = segment.format(secret=launch / "secret.csv").replace('"', '\\"')
    _edit(launch, SEGMENT, f'{SEGMENT}  segment: "{text}"\n')
    if command == "validate":
        result, _ = _run("validate", str(_spec(launch)))
    else:
        result = _review(launch)
    _one_line_exit_2(result, message)
    assert not (launch / "reports").exists()


def test_segment_with_a_misspelt_column(launch: Path) -> None:
    _edit(launch, SEGMENT, f"{SEGMENT}  segment: \"platfrom = 'ios'\"\n")
    _one_line_exit_2(
        _review(launch),
        r"units\.parquet: data\.segment reads column 'platfrom', which the units table does "
        r"not have; did you mean 'platform'\? columns here: unit_id, variant, exposed_at, "
        r"platform, country$",
    )


def test_segment_failing_at_run_time(launch: Path) -> None:
    _edit(launch, SEGMENT, f'{SEGMENT}  segment: "platform = 1"\n')
    _one_line_exit_2(
        _review(launch), r"data\.segment: 'platform = 1' fails on the units table \(Conversion"
    )


def test_a_working_segment_still_reviews(launch: Path) -> None:
    _edit(launch, SEGMENT, f"{SEGMENT}  segment: \"lower(platform) IN ('ios', 'android')\"\n")
    result = _review(launch)
    assert result.exit_code in (0, 1) and "Traceback" not in result.stderr, result.stderr
    assert result.exit_code == 0, result.stderr


# --------------------------------------------------------------------------- YAML


def _bomb(levels: int = 9, field: str = "description") -> str:
    """A billion-laughs document: each level repeats the one before nine times."""
    lines = ['a0: &a0 "lol"']
    for level in range(1, levels + 1):
        previous = ", ".join([f"*a{level - 1}"] * 9)
        lines.append(f"a{level}: &a{level} [{previous}]")
    return "\n".join(lines) + f"\n{field}: *a{levels}\n"


@pytest.mark.parametrize("command", ["validate", "due"])
def test_alias_bomb(launch: Path, command: str) -> None:
    bomb = _bomb()
    assert 500 < len(bomb) < 2500
    path = _spec(launch)
    path.write_text(path.read_text() + bomb)
    if command == "validate":
        result, seconds = _run("validate", str(path))
        _one_line_exit_2(result, r"line \d+, column 10: an alias \(\*a0\) repeats")
    else:
        result, seconds = _run(
            "due", str(launch / "specs"), "--today", TODAY, "--output-dir", str(launch)
        )
        assert result.exit_code == 2
        assert "an alias (*a0) repeats another part" in result.stdout
        assert len(result.stdout) < 2000
    assert seconds < 5  # it hung for minutes; a second is the goal (benchmarks/fuzz_spec.py)


def test_alias_bomb_in_the_title_gives_a_short_message(launch: Path) -> None:
    path = _spec(launch)
    text = path.read_text().replace("title: One-page checkout on mobile\n", "")
    path.write_text(text + _bomb(field="title"))
    result, _ = _run("validate", str(path))
    line = _one_line_exit_2(result, r"an alias")
    assert len(line) < 400


@pytest.mark.parametrize("command", ["validate", "due"])
@pytest.mark.parametrize("style", ["block", "flow"])
def test_deep_nesting(launch: Path, style: str, command: str) -> None:
    path = _spec(launch)
    if style == "flow":
        path.write_text(path.read_text() + "description: " + "[" * 20_000 + "]" * 20_000 + "\n")
    else:
        path.write_text(
            path.read_text()
            + "description:\n"
            + "".join(f"{'  ' * (i + 1)}k{i}:\n" for i in range(100))
            + f"{'  ' * 101}x\n"
        )
    if command == "due":
        result, seconds = _run(
            "due", str(launch / "specs"), "--today", TODAY, "--output-dir", str(launch)
        )
        assert result.exit_code == 2, result.stdout
        assert "nested more than 32 levels deep" in result.stdout
    else:
        result, seconds = _run("validate", str(path))
        _one_line_exit_2(result, r"line \d+, column \d+: nested more than 32 levels deep")
    assert seconds < 5


def test_duplicate_keys_name_both_lines(launch: Path) -> None:
    path = _edit(launch, "    target: +0.02\n", "    target: +0.02\n    target: +0.5\n")
    lines = path.read_text().splitlines()
    first = lines.index("    target: +0.02") + 1
    result, _ = _run("validate", str(path))
    _one_line_exit_2(
        result,
        rf"line {first + 1}, column 5: the key 'target' is written twice in one mapping "
        rf"\(lines {first} and {first + 1}\); keep one$",
    )


def test_size_limit(launch: Path) -> None:
    path = _spec(launch)
    path.write_text(path.read_text() + "# " + "x" * 70_000 + "\n")
    result, _ = _run("validate", str(path))
    _one_line_exit_2(result, r"is larger than 65,536 bytes; a spec is a few kilobytes of YAML$")


def test_node_limit(launch: Path) -> None:
    """Pure-Python YAML is slow (80,000 items took 10 s): a spec holds at most 2,000 nodes."""
    path = _spec(launch)
    path.write_text(path.read_text() + "description: [" + "1, " * 20_000 + "1]\n")
    result, seconds = _run("validate", str(path))
    _one_line_exit_2(result, r"line \d+, column \d+: holds more than 2,000 keys, values and items")
    assert seconds < 5


# --------------------------------------------------------------------------- the terminal


TERMINAL = [
    ("title", "\\e[31mred\\e[0m", "U+001B"),
    ("title", "\\e]8;;https://evil.example/\\e\\\\click\\e]8;;\\e\\\\", "U+001B"),
    ("title", "checkout\\u202Eelibom", "U+202E"),
    ("owner", "maria\\x9b31m", "U+009B"),
]


@pytest.mark.parametrize(("field", "value", "character"), TERMINAL)
def test_control_characters_never_reach_the_terminal(
    launch: Path, field: str, value: str, character: str
) -> None:
    old = {
        "title": "title: One-page checkout on mobile\n",
        "owner": "owner: maria@example.com\n",
    }[field]
    path = _edit(launch, old, f'{field}: "{value}"\n')
    result, _ = _run("validate", str(path))
    _one_line_exit_2(result, rf"{field}: holds the control character {re.escape(character)}; ")


def test_control_characters_in_a_key_are_shown_escaped(launch: Path) -> None:
    path = _edit(launch, "title: One-page", '"ti\\e[2Jtle": x\ntitle: One-page')
    result, _ = _run("validate", str(path))
    _one_line_exit_2(result, r"ti\\x1b\[2Jtle")


# --------------------------------------------------------------------------- the lock


def _relock(root: Path, change: dict[str, object]) -> None:
    source = DEMO_SPEC.with_name("demo-checkout.lock.json")
    lock = json.loads(source.read_text())
    lock["entries"][0].update(change)
    lock["lock_sha256"] = registry._lock_hash(lock)
    (root / "specs" / source.name).write_text(json.dumps(lock))


@pytest.mark.parametrize(
    ("at", "message"),
    [
        ("2026-08-20T10:00:00", r"entry 0: at is '2026-08-20T10:00:00' without a time zone"),
        ("last tuesday", r"entry 0: at is 'last tuesday'; a lock's times are UTC"),
        (17, r"entry 0: at is 17; a lock's times are UTC"),
    ],
)
@pytest.mark.parametrize("command", ["status", "review"])
def test_lock_time_without_time_zone(launch: Path, at: object, message: str, command: str) -> None:
    _relock(launch, {"at": at})
    if command == "status":
        result, _ = _run("status", str(_spec(launch)))
    else:
        result = _review(launch)
    _one_line_exit_2(result, r"demo-checkout\.lock\.json: " + message)


def test_lock_words_are_shown_escaped_by_status(launch: Path) -> None:
    source = DEMO_SPEC.with_name("demo-checkout.lock.json")
    lock = json.loads(source.read_text())
    amendment = {
        **lock["entries"][0],
        "number": 1,
        "kind": "amendment",
        "reason": "\x1b]8;;https://evil.example/\x1b\\fix\x1b]8;;\x1b\\ \x1b[2J",
        "changes": [],
    }
    lock["entries"].append(amendment)
    lock["lock_sha256"] = registry._lock_hash(lock)
    (launch / "specs" / source.name).write_text(json.dumps(lock))
    result, _ = _run("status", str(_spec(launch)))
    assert result.exit_code == 0, result.stderr
    assert "\x1b" not in result.stdout
    assert "\\x1b]8;;https://evil.example/\\x1b\\fix" in result.stdout


# --------------------------------------------------------------------------- chat


def test_verdict_md_neutralizes_links_mentions_and_formatting() -> None:
    from impact import message

    verdict = {
        "title": "[Ship it](https://evil.example/) *now* @channel <!channel> <@U1> "
        "\x1b]8;;https://evil.example\x07x ~gone~ `code` | table _it_",
        "spec_id": "checkout",
        "checkpoint": "56d",
        "final": True,
        "outcome": "invalid",
        "action": "ask @here first",
        "next_review": None,
        "primary": None,
        "guardrails": [],
        "reasons": ["events.parquet: event '\x1b[31m[x](https://evil.example)'"],
    }
    text = message.markdown(verdict, "56d.html")
    assert "\x1b" not in text and "\x07" not in text
    assert "](" not in text.replace("\\](", "")  # no Markdown link: every ] is escaped
    assert "<!" not in text and "<@" not in text
    assert "@channel" not in text and "@here" not in text
    assert "\\*now\\*" in text and "\\~gone\\~" in text and "\\`code\\`" in text
    assert "\\|" in text and "\\_it\\_" in text
    assert text.count("\n") == 2  # title, why, report: one line each


@pytest.mark.parametrize("table", ["../secret", "/etc/passwd", "..", "sub\\\\x"])
def test_a_table_name_is_not_a_path(launch: Path, table: str) -> None:
    path = _edit(launch, "  units: units\n", f'  units: "{table}"\n')
    result, _ = _run("validate", str(path))
    _one_line_exit_2(result, r"yaml: data\.units: .* is a path; a table is a file <name>\.parquet")


def test_a_long_wrong_value_gives_a_short_line(launch: Path) -> None:
    path = _edit(launch, "kind: proportion", "kind: " + "rate" * 10_000)
    result, _ = _run("validate", str(path))
    line = _one_line_exit_2(result, r'metrics\.primary\.kind: "(rate){15}')
    assert len(line) < 400
