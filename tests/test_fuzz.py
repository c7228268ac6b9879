"""Fuzzing what a spec author controls: any YAML text or document, mutations of a valid spec,
and any segment, yield a spec (or a review's units) or one documented line, never another
exception, never a slow answer, and never a byte of a file outside the data.

The examples are derandomized, so ``make test`` runs the same ones every time;
benchmarks/fuzz_spec.py runs these properties for minutes on random seeds
(``IMPACT_FUZZ_RANDOM=1``, more examples with ``IMPACT_FUZZ_EXAMPLES``, and a strict time
bound per example with ``IMPACT_FUZZ_SECONDS=1``).
"""

from __future__ import annotations

import copy
import datetime as dt
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import DEMO_SPEC
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from impact import demo, sources
from impact import spec as spec_module
from impact.errors import DataError, SpecError
from impact.sources import contract
from impact.sources.source import UNITS_VIEW, Source

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


# A hang or an exponential blow-up takes minutes; the benchmark holds each example to a second.
# The bound is on the process's CPU time (all its threads, DuckDB's included), so a machine
# busy with other work does not fail an example; waiting on something is bounded by WAIT.
SECONDS = float(os.environ.get("IMPACT_FUZZ_SECONDS", "5"))
WAIT = 30.0


class _Clock:
    """CPU and wall time of one example."""

    def __init__(self) -> None:
        self.cpu, self.wall = time.process_time(), time.perf_counter()

    def check(self, example: str) -> None:
        cpu, wall = time.process_time() - self.cpu, time.perf_counter() - self.wall
        assert cpu < SECONDS and wall < WAIT, (round(cpu, 3), round(wall, 3), example[:200])


def _load(tmp_path: Path, text: str) -> None:
    path = tmp_path / "fuzz.yaml"
    path.write_text(text, encoding="utf-8")
    clock = _Clock()
    try:
        spec_module.load(path)
    except SpecError as error:
        _one_clean_line(str(error))
        assert str(error).startswith(str(path))
    clock.check(text)


def _one_clean_line(message: str) -> None:
    assert "\n" not in message and "\r" not in message
    assert not CONTROL.search(message), message
    assert SECRET not in message, message


CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
SECRET = "TOPSECRET-5c2e"

FUZZ = settings(
    max_examples=int(os.environ.get("IMPACT_FUZZ_EXAMPLES", "150")),
    deadline=None,
    # the same examples on every run, so CI is repeatable (the benchmark draws new ones)
    derandomize=not os.environ.get("IMPACT_FUZZ_RANDOM"),
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
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


# --------------------------------------------------------------------------- hostile YAML

_KEYS = st.sampled_from(["title", "target", "a", "b", "<<", "? x", "data", "segment", "x y"])
_ESCAPES = st.sampled_from(["\\e[31m", "\\e]8;;https://x\\e\\\\", "\\u202e", "\\x9b", "\\0", "\\t"])


@st.composite
def hostile_yaml(draw: st.DrawFn) -> str:
    """YAML text with what a hostile author reaches for: anchors and aliases (bombs), deep
    nesting, repeated keys, control escapes, tags, huge scalars and flow collections."""
    parts = []
    for index in range(draw(st.integers(1, 6))):
        kind = draw(
            st.sampled_from(
                ["bomb", "deep", "duplicate", "escape", "tag", "big", "many", "flow", "plain"]
            )
        )
        if kind == "bomb":
            width, levels = draw(st.integers(2, 12)), draw(st.integers(1, 12))
            parts.append(f'b{index}_0: &b{index}_0 "lol"')
            for level in range(1, levels + 1):
                items = ", ".join([f"*b{index}_{level - 1}"] * width)
                parts.append(f"b{index}_{level}: &b{index}_{level} [{items}]")
        elif kind == "deep":
            depth = draw(st.integers(1, 20_000))
            opener, closer = draw(st.sampled_from([("[", "]"), ("{a: ", "}")]))
            parts.append(f"d{index}: " + opener * depth + "1" + closer * depth)
        elif kind == "duplicate":
            key = draw(_KEYS)
            parts.append(f"{key}: 1\n{key}: 2")
        elif kind == "escape":
            parts.append(f'{draw(_KEYS)}: "x{draw(_ESCAPES)}y"')
        elif kind == "tag":
            tag = draw(
                st.sampled_from(["!!python/object/apply:os.system", "!!binary", "!!set", "!foo"])
            )
            parts.append(f"t{index}: {tag} [1]")
        elif kind == "big":
            parts.append(f"g{index}: " + "x" * draw(st.integers(1, 70_000)))
        elif kind == "many":
            items = draw(st.integers(1, 20_000))
            parts.append(f"m{index}: [" + "1, " * items + "1]")
        elif kind == "flow":
            parts.append(
                f"f{index}: " + draw(st.text(alphabet="[]{},:&*!|>-'\\\" a1\n", max_size=80))
            )
        else:
            parts.append(f"{draw(_KEYS)}: {draw(st.text(max_size=20))!r}")
    order = draw(st.permutations(parts))
    return "\n".join(["spec_version: 1", *order]) + "\n"


@FUZZ
@given(text=hostile_yaml())
def test_hostile_yaml_is_one_line_and_fast(tmp_path: Path, text: str) -> None:
    _load(tmp_path, text)


@FUZZ
@given(text=hostile_yaml())
def test_hostile_yaml_inside_a_valid_spec(tmp_path: Path, text: str) -> None:
    valid = DEMO_SPEC.read_text().replace("spec_version: 1\n", "")
    _load(tmp_path, text + valid)


# --------------------------------------------------------------------------- segments


@pytest.fixture(scope="module")
def launch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Source, Any]]:
    """One open DuckDB session over a small demo launch, with a secret file outside the data."""
    root = tmp_path_factory.mktemp("segments")
    demo.generate(root / "data", units=300)
    (root / "secret.csv").write_text(f"word\n{SECRET}\n")
    document = copy.deepcopy(VALID)
    document["data"]["source"] = "data"
    path = root / "spec.yaml"
    path.write_text(yaml.safe_dump(document))
    loaded = spec_module.load(path)
    source = sources.connect(loaded)
    yield source, loaded
    source.close()


_COLUMNS = ["platform", "country", "unit_id", "variant", "exposed_at", "nosuch", '"platform"']
_LITERALS = [
    "'ios'",
    "1",
    "-2.5",
    "NULL",
    "TRUE",
    "DATE '2026-09-01'",
    "TIMESTAMP '2026-09-02 10:00:00'",
    "'%o%'",
    "'https://example.com/x.parquet'",
    "'/etc/passwd'",
    "'@SECRET@'",
    "$1",
    "?",
    "*",
    "u.platform",
    "[1, 2]",
    "{'a': 1}",
]
_FUNCTIONS = [
    "lower",
    "upper",
    "trim",
    "length",
    "coalesce",
    "abs",
    "round",
    "read_csv",
    "read_parquet",
    "read_text",
    "getenv",
    "current_setting",
    "chr",
    "glob",
    "string_agg",
    "random",
    "now",
    "sum",
    "pg_sleep",
    "query_table",
]
_OPERATORS = ["=", "<>", "!=", "<", ">=", "AND", "OR", "LIKE", "ILIKE", "||", "+", "/", "%", "IS"]


def _segments(secret: str = "@SECRET@") -> st.SearchStrategy[str]:
    """Segments built from SQL's parts (the allowed and the hostile), and plain text; the
    secret file's path is put in when the example runs."""
    atoms = st.sampled_from(_COLUMNS + _LITERALS)

    def extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        return st.one_of(
            st.tuples(inner, st.sampled_from(_OPERATORS), inner).map(" ".join),
            st.tuples(st.sampled_from(_FUNCTIONS), st.lists(inner, max_size=3)).map(
                lambda call: f"{call[0]}({', '.join(call[1])})"
            ),
            inner.map(lambda x: f"NOT {x}"),
            inner.map(lambda x: f"({x})"),
            inner.map(lambda x: f"{x} IS NOT NULL"),
            st.tuples(inner, st.lists(inner, min_size=1, max_size=3)).map(
                lambda x: f"{x[0]} IN ({', '.join(x[1])})"
            ),
            st.tuples(inner, inner, inner).map(lambda x: f"{x[0]} BETWEEN {x[1]} AND {x[2]}"),
            st.tuples(inner, st.sampled_from(["INTEGER", "DATE", "VARCHAR", "JSON", "BLOB"])).map(
                lambda x: f"CAST({x[0]} AS {x[1]})"
            ),
            inner.map(lambda x: f"(SELECT {x} FROM read_csv('{secret}'))"),
            inner.map(lambda x: f"{x} IN (SELECT word FROM '{secret}')"),
            inner.map(lambda x: f"CASE WHEN {x} THEN 1 END = 1"),
            inner.map(lambda x: f"{x} -- {secret}\n"),
            inner.map(lambda x: f"{x}; COPY units TO '{secret}'"),
        )

    return st.one_of(
        st.recursive(atoms, extend, max_leaves=12),
        st.text(max_size=60),
        st.text(alphabet="()'\"; -*/=<>!|$?:[]{}.,aA1 \n\\", max_size=80),
    )


SEGMENTS = _segments()


@FUZZ
@given(drawn=SEGMENTS)
def test_any_segment_is_a_filter_or_one_line(launch: tuple[Source, Any], drawn: str) -> None:
    source, loaded = launch
    segment = drawn.replace("@SECRET@", str(loaded.path.parent / "secret.csv"))
    spec = loaded.model_copy(update={"data": loaded.data.model_copy(update={"segment": segment})})
    clock = _Clock()
    try:
        contract.check_segment(source, spec)
        counted = source.execute(
            f"SELECT count(*) FROM {UNITS_VIEW} WHERE "
            + contract.unit_filter(spec, dt.datetime(2026, 10, 27), source)
        ).fetchone()
        assert counted is not None and 0 <= counted[0] <= 300
        assert SECRET not in str(counted)
    except (SpecError, DataError) as error:
        _one_clean_line(str(error))
    clock.check(segment)
