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


def impact_cli(*args: str, cwd: Path, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    """Run the real `impact` command (python -m impact) and capture its output."""
    return subprocess.run(
        [sys.executable, "-m", "impact", *args],
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
