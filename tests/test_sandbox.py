"""The SQL a spec may hold (impact/sandbox.py): conditions over the units table's columns
only, rendered from the parsed tree in each engine's dialect."""

from __future__ import annotations

import pytest

from impact import sandbox

ALLOWED = [
    ("platform = 'ios'", "platform = 'ios'"),
    ("platform <> 'ios' AND NOT country IN ('DE', 'FR')", None),
    ("age BETWEEN 18 AND 30 OR age IS NULL", None),
    ("lower(country) LIKE 'd%' AND upper(platform) ILIKE 'I%'", None),
    ("coalesce(plan, 'free') != 'free' AND length(trim(name)) > 2", None),
    ("abs(score - 1) < 0.5 AND round(score, 1) >= 1.0", None),
    ("signup >= DATE '2026-01-01' AND CAST(age AS INTEGER) % 2 = 0", None),
    ("age::double > 1.5 AND is_paid IS NOT TRUE", None),
    ("platform IS DISTINCT FROM 'web'", None),
    ("\"Signup Country\" = 'DE'", None),
    ("country LIKE 'a!%' ESCAPE '!'", None),
]


@pytest.mark.parametrize(("text", "rendered"), ALLOWED)
def test_allowed_conditions_render_in_every_dialect(text: str, rendered: str | None) -> None:
    tree = sandbox.parse(text)
    for dialect in ("duckdb", "postgres", "spark"):
        assert tree.sql(dialect)
    if rendered is not None:
        assert tree.sql("duckdb") == rendered


REFUSED = [
    # the case: a subquery over a table function reading a file outside the data
    (
        "CAST((SELECT string_agg(column0,'|') FROM read_csv('/etc/passwd', header=false, "
        "sep=chr(1))) AS INTEGER)=1",
        r"^a subquery \(SELECT .* is not allowed; a segment is a condition",
    ),
    ("read_parquet('https://example.com/x.parquet') IS NOT NULL", r"table function read_parquet"),
    ("platform IN (SELECT platform FROM impact_units)", r"IN takes a list of values"),
    ("EXISTS (SELECT 1)", r"is not allowed"),
    ("getenv('HOME') = 'x'", r"^the function getenv\(\) is not allowed"),
    ("current_setting('home_directory') = 'x'", r"function current_setting\(\)"),
    ("chr(65) = platform", r"^the function chr\(\) is not allowed"),
    ("u.platform = 'ios'", r"^the column u\.platform names a table"),
    ("platform = $1", r"^\$1 is not allowed"),
    ("platform = ?", r"is not allowed"),
    ("CASE WHEN age > 1 THEN TRUE END", r"^CASE is not allowed"),
    ("CAST(platform AS JSON) = '1'", r"^a cast to JSON is not allowed"),
    ("platform = 'ios'; DROP TABLE units", r"is not a SQL condition \(.*\)"),
    ("platform = = 'ios'", r"is not a SQL condition"),
    ("platform = 'ios", r"is not a SQL condition"),
    ("(" * 30 + "a = 1" + ")" * 30, r"nests parentheses 30 deep; a segment nests at most 16"),
    ("a = 1 AND " * 300 + "a = 1", r"characters long; a segment is at most 2000"),
    ("[1, 2][1] = a", r"is not allowed"),
    ("a = ANY([1])", r"is not allowed"),
    ("x -> x = 1", r"is not allowed"),
]


@pytest.mark.parametrize(("text", "message"), REFUSED)
def test_refused_fragments_name_the_part(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message) as caught:
        sandbox.parse(text)
    assert "\n" not in str(caught.value)
    assert "/etc/passwd" not in str(caught.value) or "subquery" in str(caught.value)


def test_comments_never_reach_the_sql() -> None:
    tree = sandbox.parse("platform = 'ios' /* hidden */ -- and more")
    assert "hidden" not in tree.sql("duckdb") and "more" not in tree.sql("postgres")


def test_columns_in_order_of_appearance() -> None:
    tree = sandbox.parse("coalesce(plan, 'free') <> 'free' AND age BETWEEN 18 AND 30")
    assert sandbox.columns(tree) == ["plan", "age"]
