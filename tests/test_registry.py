"""Registration: what changes a verdict, what is only shown, and what is refused."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from conftest import DEMO_SPEC, ROOT, demo_launch, impact_cli, write_spec

from impact import registry, review, scaffold
from impact import spec as spec_module
from impact.errors import RegistrationError, SpecError

BEFORE_LAUNCH = dt.datetime(2026, 8, 20, 10, 0, tzinfo=dt.UTC)
AFTER_LAUNCH = dt.datetime(2026, 9, 15, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def registered(tmp_path: Path) -> Path:
    path = tmp_path / "launch.yaml"
    path.write_text(DEMO_SPEC.read_text())
    registry.register(spec_module.load(path), now=BEFORE_LAUNCH)
    return path


def _edit(path: Path, change: Any) -> registry.Registration:
    document = yaml.safe_load(path.read_text())
    change(document)
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return registry.check(spec_module.load(path))


def test_reformatting_changes_nothing(registered: Path) -> None:
    text = "# a new comment\n" + registered.read_text().replace(
        "{control: 0.5, treatment: 0.5}", "\n    control: 0.50\n    treatment: 0.5"
    )
    document = yaml.safe_load(text)
    registered.write_text(yaml.safe_dump(dict(reversed(list(document.items())))))
    state = registry.check(spec_module.load(registered))
    assert state.registered and state.changed_fields == [] and not state.registered_after_launch
    assert state.registered_at == "2026-08-20T10:00:00Z"


def _set_target(d: dict[str, Any]) -> None:
    d["metrics"]["primary"]["target"] = 0.01


CASES = [
    ("title", lambda d: d.update(title="A better title"), "title", False),
    (
        "hypothesis",
        lambda d: d["hypothesis"].update(result="more sales"),
        "hypothesis.result",
        False,
    ),
    (
        "description",
        lambda d: d["metrics"]["primary"].update(description="new words"),
        "metrics.primary.description",
        False,
    ),
    (
        "unit",
        lambda d: d["metrics"]["secondary"][0].update(unit="EUR"),
        "metrics.secondary[revenue_per_user].unit",
        False,
    ),
    ("target", _set_target, "metrics.primary.target", True),
    (
        "margin",
        lambda d: d["metrics"]["guardrails"][0].update(margin=0.01),
        "metrics.guardrails[refund_rate].margin",
        True,
    ),
    (
        "window",
        lambda d: d["metrics"]["primary"].update(window="7d"),
        "metrics.primary.window",
        True,
    ),
    ("alpha", lambda d: d["decision"].update(alpha=0.1), "decision.alpha", True),
    ("reviews", lambda d: d.update(reviews=["28d", "42d"]), "reviews", True),
    ("launch_date", lambda d: d.update(launch_date="2026-09-08"), "launch_date", True),
    (
        "metric added",
        lambda d: d["metrics"]["guardrails"].append(
            {
                "name": "sessions",
                "kind": "mean",
                "event": "session",
                "value": "count",
                "window": "14d",
                "direction": "increase",
                "margin": 0.1,
            }
        ),
        "metrics.guardrails[sessions].name",
        True,
    ),
    (
        "metric removed",
        lambda d: d["metrics"]["guardrails"].pop(),
        "metrics.guardrails[support_contact_rate].name",
        True,
    ),
]


@pytest.mark.parametrize(("case", "change", "field", "deciding"), CASES, ids=[c[0] for c in CASES])
def test_changes_after_registration(
    registered: Path, case: str, change: Any, field: str, deciding: bool
) -> None:
    state = _edit(registered, change)
    fields = {c["field"]: c for c in state.changed_fields}
    assert field in fields
    assert fields[field]["deciding"] is deciding
    assert bool(state.tampered) is deciding


def test_a_deciding_change_makes_the_verdict_invalid_with_the_diff(tmp_path: Path) -> None:

    spec = demo_launch(tmp_path, units=3000)
    registry.register(spec_module.load(spec), now=BEFORE_LAUNCH)
    spec.write_text(spec.read_text().replace("target: +0.02", "target: +0.005"))
    result = review.run(str(spec), today="2026-11-26")
    assert result.verdict.outcome == "invalid"
    assert "metrics.primary.target: '0.02' -> '0.005'" in result.verdict.reasons[0]
    payload = result.to_json()
    assert payload["registration"]["changed_fields"][0]["field"] == "metrics.primary.target"


def test_wording_change_is_shown_not_blocking(registered: Path) -> None:
    state = _edit(registered, lambda d: d.update(title="New words"))
    assert state.changed_fields and not state.tampered


def test_no_lock(tmp_path: Path) -> None:
    state = registry.check(
        spec_module.load(write_spec(tmp_path, yaml.safe_load(DEMO_SPEC.read_text())))
    )
    assert not state.registered and state.registered_at is None


@pytest.mark.parametrize(
    ("corrupt", "message"),
    [
        (
            lambda text: text.replace('"0.02"', '"0.01"'),
            r"the lock's own hash does not match its content",
        ),
        (lambda text: text[: len(text) // 2], r"the lock cannot be read"),
        (lambda text: "[]", r"not a registration lock"),
    ],
)
def test_corrupted_or_hand_edited_lock(registered: Path, corrupt: Any, message: str) -> None:
    lock = registered.with_name("launch.lock.json")
    lock.write_text(corrupt(lock.read_text()))
    with pytest.raises(RegistrationError, match=message):
        registry.check(spec_module.load(registered))


def test_hand_edited_lock_with_recomputed_self_hash_is_caught_by_the_entry_hash(
    registered: Path,
) -> None:
    lock_file = registered.with_name("launch.lock.json")
    lock = json.loads(lock_file.read_text())
    lock["entries"][0]["canonical"]["metrics"]["primary"]["target"] = "0.01"
    lock.pop("lock_sha256")
    lock["lock_sha256"] = registry.sha256(lock)
    lock_file.write_text(json.dumps(lock))
    with pytest.raises(RegistrationError, match=r"entry 0 does not match its hash"):
        registry.check(spec_module.load(registered))


def test_registering_twice_is_refused(registered: Path) -> None:
    with pytest.raises(
        RegistrationError, match=r"registered already; to change it, run impact amend"
    ):
        registry.register(spec_module.load(registered), now=BEFORE_LAUNCH)


@pytest.mark.parametrize(
    ("when", "after"), [(dt.datetime(2026, 8, 25, tzinfo=dt.UTC), False), (AFTER_LAUNCH, True)]
)
def test_amendments(registered: Path, when: dt.datetime, after: bool) -> None:
    _edit(registered, _set_target)
    entry = registry.amend(
        spec_module.load(registered), reason="target was too ambitious", now=when
    )
    assert entry["number"] == 1
    assert entry["changes"][0]["field"] == "metrics.primary.target"
    state = registry.check(spec_module.load(registered))
    assert state.changed_fields == [] and not state.tampered
    assert state.amendments[0]["after_launch"] is after
    assert bool(state.amended_after_launch) is after
    lock = registry.read_lock(registered.with_name("launch.lock.json"))
    assert [e["kind"] for e in lock["entries"]] == ["registration", "amendment"]
    assert lock["entries"][0]["canonical"]["metrics"]["primary"]["target"] == "0.02"


def test_amend_refuses_without_change_reason_or_lock(tmp_path: Path, registered: Path) -> None:
    loaded = spec_module.load(registered)
    with pytest.raises(RegistrationError, match="nothing changed since entry 0"):
        registry.amend(loaded, reason="x", now=AFTER_LAUNCH)
    with pytest.raises(RegistrationError, match="needs a reason"):
        registry.amend(loaded, reason="  ", now=AFTER_LAUNCH)
    other = write_spec(tmp_path, yaml.safe_load(DEMO_SPEC.read_text()), "other.yaml")
    with pytest.raises(RegistrationError, match="not registered yet"):
        registry.amend(spec_module.load(other), reason="x", now=AFTER_LAUNCH)


def test_registered_after_launch_is_flagged(tmp_path: Path) -> None:
    path = write_spec(tmp_path, yaml.safe_load(DEMO_SPEC.read_text()))
    registry.register(spec_module.load(path), now=AFTER_LAUNCH)
    assert registry.check(spec_module.load(path)).registered_after_launch


def test_the_demo_lock_matches_the_demo_spec() -> None:
    state = registry.check(spec_module.load(DEMO_SPEC))
    assert state.registered and state.fixture and state.changed_fields == []
    assert state.registered_at == "2026-08-20T10:00:00Z" and not state.registered_after_launch


def test_new_spec_validates_once_its_placeholders_are_filled(tmp_path: Path) -> None:
    path = scaffold.write(
        tmp_path, "faster-search", design="experiment", today=dt.date(2026, 11, 26)
    )
    with pytest.raises(SpecError, match=r"title: still a placeholder"):
        spec_module.load(path)
    fills = {
        "what launches, in a few words": "Faster search",
        "who answers for this launch, e.g. maria@example.com": "ana@example.com",
        "who, e.g. mobile shoppers": "searchers",
        "what goes wrong for them today": "wait for results",
        "what we launch": "a faster index",
        "the measurable change we expect, e.g. +2pp checkout conversion in 14 days": "+1pp search success",
        "metric name, e.g. checkout_conversion": "search_success",
        "the event counted, e.g. purchase": "search_click",
        "today's value in the control, e.g. 0.32": "0.4",
        "the smallest change worth it, e.g. +0.02 or +6%": "+0.01",
        "e.g. refund_rate": "zero_results",
        "e.g. refund": "zero_result",
        "how far it may move the harmful way, e.g. +0.005": "+0.005",
    }
    text = path.read_text()
    for placeholder, value in fills.items():
        quoted = f'"<fill in: {placeholder}>"'
        assert quoted in text, placeholder
        text = text.replace(quoted, value)
    path.write_text(text)
    loaded = spec_module.load(path)
    assert loaded.id == "faster-search" and loaded.launch_date == dt.date(2026, 12, 24)
    # the commented segments and rollout, uncommented as their hints say, are a valid spec
    staged = re.sub(r"^# (segments|rollout|  - )", r"\1", text, flags=re.MULTILINE)
    staged = staged.replace("<a later day>", "2027-01-07")
    staged = re.sub(r"^  split: .*\n", "", staged, flags=re.MULTILINE)
    path.write_text(staged)
    loaded = spec_module.load(path)
    assert [s.column for s in loaded.segments] == ["platform"]
    assert loaded.rollout is not None and [s.split["treatment"] for s in loaded.rollout] == [
        0.1,
        0.5,
    ]
    path.write_text(text)
    with pytest.raises(SpecError, match="exists already"):
        scaffold.write(tmp_path, "faster-search", design="experiment", today=dt.date(2026, 11, 26))


def test_new_refuses_unknown_designs() -> None:
    with pytest.raises(SpecError, match="--design rollout is not a design"):
        scaffold.render("x", design="rollout", today=dt.date(2026, 11, 26), file_name="x.yaml")


def test_new_adoption_spec_validates_once_filled_in(tmp_path: Path) -> None:
    path = scaffold.write(tmp_path, "filters", design="adoption", today=dt.date(2026, 11, 26))
    text = path.read_text()
    values = {"share who should try": "0.3", "share who should come back": "0.15"}
    for placeholder in re.findall(r'"<fill in: [^>]*>"', text):
        value = next((v for k, v in values.items() if k in placeholder), "used_filters")
        text = text.replace(placeholder, value, 1)
    path.write_text(text)
    loaded = spec_module.load(path)
    assert loaded.design == "adoption" and loaded.adoption is not None
    assert loaded.adoption.thresholds.tried == 0.3


def test_new_prepost_spec_validates_once_filled_in(tmp_path: Path) -> None:
    path = scaffold.write(tmp_path, "banner", design="prepost", today=dt.date(2026, 11, 26))
    text = path.read_text()
    with pytest.raises(SpecError, match="still a placeholder"):
        spec_module.load(path)
    for placeholder in re.findall(r'"<fill in: [^>]*>"', text):
        value = "+3%" if "smallest change" in placeholder else "orders"
        text = text.replace(placeholder, value, 1)
    path.write_text(text)
    loaded = spec_module.load(path)
    assert loaded.design == "prepost" and loaded.metrics.primary is not None
    assert loaded.metrics.primary.seasonality == 7 and loaded.on_no_effect == "iterate"


def test_json_schema_accepts_demo_specs_and_rejects_unknown_keys() -> None:
    schema = spec_module.json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    for path in sorted((ROOT / "specs").glob("*.yaml")):
        document = json.loads(json.dumps(yaml.safe_load(path.read_text()), default=str))
        jsonschema.validate(document, schema)
        document["metrics"]["primary"]["tagret"] = 0.02
        with pytest.raises(jsonschema.ValidationError, match="tagret"):
            jsonschema.validate(document, schema)


def test_cli_register_amend_status(tmp_path: Path) -> None:
    path = tmp_path / "launch.yaml"
    path.write_text(DEMO_SPEC.read_text())
    first = impact_cli("register", "launch.yaml", cwd=tmp_path)
    assert first.returncode == 0 and "registered demo-checkout at" in first.stdout
    assert "launch_date 2026-09-01 has passed" in first.stdout  # the real clock is after it
    again = impact_cli("register", "launch.yaml", cwd=tmp_path)
    assert again.returncode == 2 and again.stderr.startswith(
        "error: launch.lock.json: demo-checkout is registered already"
    )
    path.write_text(path.read_text().replace("alpha: 0.05", "alpha: 0.1"))
    status = impact_cli("status", "launch.yaml", cwd=tmp_path)
    assert (
        "changed decision.alpha: 0.05 -> 0.1 (DECIDING: the verdict will be invalid)"
        in status.stdout
    )
    assert status.returncode == 2 and "a deciding field differs from the lock" in status.stderr
    amended = impact_cli(
        "amend", "launch.yaml", "--reason", "two looks need more room", cwd=tmp_path
    )
    assert amended.returncode == 0 and "decision.alpha: 0.05 -> 0.1 (deciding)" in amended.stdout
    status = impact_cli("status", "launch.yaml", cwd=tmp_path)
    assert "amendment 1" in status.stdout and "the spec matches its lock" in status.stdout
    assert "decision.alpha: 0.05 -> 0.1" in status.stdout and status.returncode == 0
    lock = tmp_path / "launch.lock.json"
    lock.write_text(lock.read_text().replace("0.1", "0.2", 1))
    broken = impact_cli("status", "launch.yaml", cwd=tmp_path)
    assert (
        broken.returncode == 2
        and "edited by hand" in broken.stderr
        and "Traceback" not in broken.stderr
    )


def test_a_field_emptied_or_removed_reads_not_set_not_none() -> None:
    """Found by a new user: `status` printed "controls: ['visits'] -> None" for `controls: []`
    (the lock keeps a field left at its default as absent)."""
    changes = registry.diff(
        {"metrics": {"primary": {"controls": ["visits"]}}}, {"metrics": {"primary": {}}}
    )
    assert [registry.change_words(c) for c in changes] == [
        "metrics.primary.controls: ['visits'] -> not set"
    ]


def test_cli_schema_and_new(tmp_path: Path) -> None:
    out = impact_cli("schema", "--out", "spec.schema.json", cwd=tmp_path)
    assert out.returncode == 0
    assert (
        json.loads((tmp_path / "spec.schema.json").read_text())["title"]
        == "impact launch spec, format v1"
    )
    made = impact_cli("new", "--id", "my-test", cwd=tmp_path)
    assert made.returncode == 0 and (tmp_path / "specs" / "my-test.yaml").is_file()
    bad = impact_cli("new", "--id", "My Test", cwd=tmp_path)
    assert bad.returncode == 2 and "is not a valid id" in bad.stderr


def test_status_of_an_unregistered_spec_follows_the_clock(tmp_path: Path) -> None:
    """After launch_date, status no longer says to register before it (found by a new user)."""
    (tmp_path / "launch.yaml").write_text(DEMO_SPEC.read_text())
    before = impact_cli("status", "launch.yaml", "--today", "2026-08-20", cwd=tmp_path)
    assert before.returncode == 0
    assert "register before 2026-09-01: impact register launch.yaml" in before.stdout
    after = impact_cli("status", "launch.yaml", "--today", "2026-11-26", cwd=tmp_path)
    assert after.returncode == 0 and "register before" not in after.stdout
    assert (
        "launched 2026-09-01 without a registration: impact register launch.yaml still freezes "
        "the criteria, and every review will say they were registered after launch"
    ) in after.stdout
