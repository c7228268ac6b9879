"""Fuzzing the spec loader: any YAML document, and mutations of a valid spec, yield a spec or
a SpecError with one line, never another exception."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml
from conftest import DEMO_SPEC
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from impact import spec as spec_module
from impact.errors import SpecError

VALID = yaml.safe_load(DEMO_SPEC.read_text())

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**6), max_value=10**6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(
        ["14d", "+0.02", "-6%", "2pp", "<fill in: x>", "ratio", "decrease", "2026-09-01"]
    ),
)
documents = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.text(max_size=12), children, max_size=5),
    ),
    max_leaves=25,
)


def _load(tmp_path: Path, text: str) -> None:
    path = tmp_path / "fuzz.yaml"
    path.write_text(text, encoding="utf-8")
    try:
        spec_module.load(path)
    except SpecError as error:
        assert "\n" not in str(error)
        assert str(error).startswith(str(path))


FUZZ = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,  # the same examples on every run, so CI is repeatable
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


@FUZZ
@given(text=st.text(max_size=200))
def test_arbitrary_text(tmp_path: Path, text: str) -> None:
    _load(tmp_path, text)


@FUZZ
@given(document=documents)
def test_arbitrary_yaml_documents(tmp_path: Path, document: Any) -> None:
    _load(tmp_path, yaml.safe_dump(document))


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*prefix, index))
    return found


PATHS = _paths(VALID)


@FUZZ
@given(path=st.sampled_from(PATHS), replacement=documents, delete=st.booleans())
def test_mutations_of_a_valid_spec(
    tmp_path: Path, path: tuple[Any, ...], replacement: Any, delete: bool
) -> None:
    document = copy.deepcopy(VALID)
    parent = document
    for key in path[:-1]:
        parent = parent[key]
    if delete:
        del parent[path[-1]]
    else:
        parent[path[-1]] = replacement
    _load(tmp_path, yaml.safe_dump(document))
