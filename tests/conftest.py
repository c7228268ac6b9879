"""Shared fixtures: paths of the repository and a valid spec to mutate."""

from __future__ import annotations

import copy
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
DEMO_SPEC = ROOT / "specs" / "demo-checkout.yaml"


@pytest.fixture
def spec_dict() -> dict[str, Any]:
    """The demo spec as a plain dict, ready to be changed and written."""
    return copy.deepcopy(yaml.safe_load(DEMO_SPEC.read_text()))


def demo_launch(root: Path, *, units: int = 60_000, lock: bool = False) -> Path:
    """A demo launch under ``root``: data/demo generated, the demo spec (and its lock) copied
    into specs/. Returns the spec's path."""
    from impact import demo

    demo.generate(root / "data" / "demo", units=units)
    (root / "specs").mkdir(exist_ok=True)
    spec = root / "specs" / DEMO_SPEC.name
    shutil.copyfile(DEMO_SPEC, spec)
    if lock:
        source = DEMO_SPEC.with_name(f"{DEMO_SPEC.stem}.lock.json")
        shutil.copyfile(source, spec.with_name(source.name))
    return spec


def write_spec(folder: Path, document: dict[str, Any] | str, name: str = "spec.yaml") -> Path:
    """Write a spec document (a dict, or raw YAML text) and return its path."""
    path = folder / name
    text = document if isinstance(document, str) else yaml.safe_dump(document, sort_keys=False)
    path.write_text(text)
    return path


def impact_cli(
    *args: str, cwd: Path, timeout: float = 900, python: tuple[str, ...] = ()
) -> subprocess.CompletedProcess[str]:
    """Run the real `impact` command (python [python options] -m impact) and capture its
    output."""
    return subprocess.run(
        [sys.executable, *python, "-m", "impact", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def set_path(document: dict[str, Any], where: tuple[str, ...], value: object) -> None:
    """Set ``document[where[0]][where[1]]...`` to ``value``; None deletes the key."""
    parent = document
    for key in where[:-1]:
        parent = parent[key]
    if value is None:
        del parent[where[-1]]
    else:
        parent[where[-1]] = value


def verdict_numbers(payload: Any, path: str = "") -> dict[str, Any]:
    """verdict.json flattened to {path: value}, without what names the source or the run
    (run, registration, checks and reasons), to compare one review on two engines."""
    if isinstance(payload, dict):
        flat: dict[str, Any] = {}
        for name, item in payload.items():
            if path or name not in ("run", "registration", "checks", "reasons"):
                flat.update(verdict_numbers(item, f"{path}.{name}"))
        return flat
    if isinstance(payload, list):
        flat = {}
        for index, item in enumerate(payload):
            flat.update(verdict_numbers(item, f"{path}[{index}]"))
        return flat
    return {path: payload}


def replaced(text: str, *pairs: tuple[str, str]) -> str:
    """``text`` with the first occurrence of each old string replaced; each must be there.

    Specs are edited as text so that they keep their signs and comments as written.
    """
    for old, new in pairs:
        assert old in text, old
        text = text.replace(old, new, 1)
    return text


# An adoption block for the demo experiment: the remote engines' equality tests review it.
DEMO_ADOPTION = """
adoption:
  feature_event: used_one_page_checkout
  repeat_weeks: 2
  thresholds: {tried: 0.30, repeat: 0.15}
  breakdown: platform
"""


def with_adoption(spec: Path) -> None:
    """Give a demo experiment spec (not registered) an adoption block."""
    spec.write_text(spec.read_text() + DEMO_ADOPTION)


def design_launches(root: Path) -> dict[str, Path]:
    """The other designs on Parquet under ``root``: the prepost demo (a series table), a
    prepost review of daily series derived from events, and the adoption demo (no locks).
    Returns each spec's path by name: prepost, prepost-events, adoption."""
    from impact import demo

    demo.generate_series(root / "data" / "demo-prepost")
    demo.generate_adoption(root / "data" / "demo-adoption", units=2000)
    (root / "specs").mkdir(exist_ok=True)
    paths = {}
    for design in ("prepost", "adoption"):
        paths[design] = root / "specs" / f"demo-{design}.yaml"
        shutil.copyfile(ROOT / "specs" / f"demo-{design}.yaml", paths[design])
    document = yaml.safe_load(paths["prepost"].read_text())
    document["id"] = "prepost-events"
    document["data"] = {"source": "../data/demo-adoption", "events": "events", "pre_period": "56d"}
    document["metrics"] = {
        "primary": {"name": "buyers", "event": "purchase", "direction": "increase", "target": 0.01},
        "secondary": [
            {"name": "purchases", "event": "purchase", "value": "count", "direction": "increase"},
            {"name": "spend", "event": "purchase", "value": "sum", "direction": "increase"},
        ],
    }
    paths["prepost-events"] = write_spec(root / "specs", document, "prepost-events.yaml")
    return paths


def elsewhere(spec: Path, source: str, tables: dict[str, str]) -> Path:
    """A copy of ``spec`` (beside it, named ``<stem>-<engine>.yaml``) that reads ``source``,
    its tables renamed by ``tables`` ({"events": "shop.events"}, say)."""
    document = yaml.safe_load(spec.read_text())
    document["data"]["source"] = source
    for role in ("units", "events", "series"):
        if role in document["data"]:
            document["data"][role] = tables[document["data"][role]]
    engine = "spark" if source == "spark" else "postgres"
    return write_spec(spec.parent, document, f"{spec.stem}-{engine}.yaml")
