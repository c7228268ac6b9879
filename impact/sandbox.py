"""The SQL a spec may hold: a condition over the units table's columns, and nothing more.

Specs are written by many people and run by one scheduler, so a spec's SQL (``data.segment``)
is parsed with sqlglot and allowed only when every part of it is on this list:

- column names of the units table, unqualified (``platform``, ``"Signup Country"``);
- literals: strings, numbers, ``TRUE``, ``FALSE``, ``NULL``, and ``DATE '2026-09-01'`` or
  ``TIMESTAMP '...'``;
- comparisons ``=  <>  !=  <  <=  >  >=``, ``IS [NOT] DISTINCT FROM``;
- ``AND``, ``OR``, ``NOT`` and parentheses;
- ``IN (list of values)``, ``BETWEEN ... AND ...``, ``LIKE``, ``ILIKE``, ``IS [NOT] NULL``,
  ``IS [NOT] TRUE/FALSE``;
- arithmetic ``+ - * / %``;
- ``CAST(x AS type)`` and ``x::type`` to the types in :data:`TYPES`;
- the pure functions in :data:`FUNCTIONS`.

Anything else is refused, naming the part: subqueries, table functions (``read_csv``), any
other function (``getenv``), a table-qualified column, ``*``, parameters, and text longer
than :data:`MAX_LENGTH` or nested deeper than :data:`MAX_NESTING`. Nothing on the list can
read a file, reach the network or change the database, and a refused fragment never reaches
an engine: the SQL that runs is rendered from the parsed tree for each engine (DuckDB,
PostgreSQL, Spark), never pasted from the spec.

Examples:
    >>> parse("platform = 'ios' AND lower(country) IN ('de', 'fr')").sql("postgres")
    "platform = 'ios' AND LOWER(country) IN ('de', 'fr')"
    >>> columns(parse("coalesce(plan, 'free') <> 'free' AND age BETWEEN 18 AND 30"))
    ['plan', 'age']
    >>> parse("x IN (SELECT 1)")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: x IN (SELECT 1) is not allowed: IN takes a list of values; ...
"""

from __future__ import annotations

import sqlglot
from sqlglot import exp
from sqlglot.tokens import TokenType

__all__ = ["FUNCTIONS", "MAX_LENGTH", "MAX_NESTING", "TYPES", "columns", "parse"]

MAX_LENGTH = 2000  # characters of a segment
MAX_NESTING = 16  # parentheses and function calls inside one another

# The functions a segment may call: pure, of their arguments only.
FUNCTIONS: dict[type[exp.Expr], str] = {
    exp.Lower: "lower",
    exp.Upper: "upper",
    exp.Trim: "trim",
    exp.Length: "length",
    exp.Coalesce: "coalesce",
    exp.Abs: "abs",
    exp.Round: "round",
}

# The types a segment may cast to.
TYPES = {
    exp.DataType.Type.VARCHAR,
    exp.DataType.Type.TEXT,
    exp.DataType.Type.TINYINT,
    exp.DataType.Type.SMALLINT,
    exp.DataType.Type.INT,
    exp.DataType.Type.BIGINT,
    exp.DataType.Type.FLOAT,
    exp.DataType.Type.DOUBLE,
    exp.DataType.Type.DECIMAL,
    exp.DataType.Type.BOOLEAN,
    exp.DataType.Type.DATE,
    exp.DataType.Type.TIMESTAMP,
}

_ALLOWED: tuple[type[exp.Expr], ...] = (
    exp.Column,
    exp.Identifier,
    exp.Literal,
    exp.Boolean,
    exp.Null,
    exp.Paren,
    exp.Tuple,
    exp.EQ,
    exp.NEQ,
    exp.GT,
    exp.GTE,
    exp.LT,
    exp.LTE,
    exp.NullSafeEQ,
    exp.NullSafeNEQ,
    exp.And,
    exp.Or,
    exp.Not,
    exp.In,
    exp.Between,
    exp.Like,
    exp.ILike,
    exp.Escape,
    exp.Is,
    exp.Neg,
    exp.Add,
    exp.Sub,
    exp.Mul,
    exp.Div,
    exp.Mod,
    exp.Cast,
    exp.TryCast,
    exp.DataType,
    exp.DataTypeParam,
    *FUNCTIONS,
)

_HINT = (
    "a segment is a condition on the units table's columns with literals, comparisons, "
    "AND/OR/NOT, IN, BETWEEN, LIKE, IS NULL and the functions "
    + ", ".join(sorted(FUNCTIONS.values()))
    + " (see docs/spec.md)"
)


def parse(text: str) -> exp.Expr:
    """Parse a segment and check every part of it against the allowed grammar.

    Returns:
        The parsed condition, without comments, ready to render in any dialect.

    Raises:
        ValueError: a one-line message naming the part refused (or the syntax error) and
            what a segment may hold.
    """
    if len(text) > MAX_LENGTH:
        raise ValueError(
            f"{_quote(text)} is {len(text)} characters long; a segment is at most "
            f"{MAX_LENGTH}, a condition such as platform = 'ios'"
        )
    try:
        tokens = sqlglot.tokenize(text, dialect="duckdb")
    except sqlglot.errors.SqlglotError as error:
        raise ValueError(
            f"{_quote(text)} is not a SQL condition ({_first_line(error)}); {_EXAMPLE}"
        ) from None
    depth = deepest = 0
    for token in tokens:
        if token.token_type == TokenType.L_PAREN:
            depth += 1
            deepest = max(deepest, depth)
        elif token.token_type == TokenType.R_PAREN:
            depth -= 1
    if deepest > MAX_NESTING:
        raise ValueError(
            f"{_quote(text)} nests parentheses {deepest} deep; a segment nests at most "
            f"{MAX_NESTING} deep"
        )
    try:
        tree = sqlglot.condition(text, dialect="duckdb")
    except sqlglot.errors.SqlglotError as error:
        raise ValueError(
            f"{_quote(text)} is not a SQL condition ({_reason(error)}); {_EXAMPLE}"
        ) from None
    except RecursionError:
        raise ValueError(f"{_quote(text)} is nested too deeply to read; {_EXAMPLE}") from None
    for node in tree.walk():
        _check(node)
        node.comments = None  # never carried into the SQL that runs
    return tree


def columns(tree: exp.Expr) -> list[str]:
    """The column names a parsed segment reads, in order of first appearance."""
    seen: dict[str, None] = {}
    for column in tree.find_all(exp.Column, bfs=False):
        seen.setdefault(column.name, None)
    return list(seen)


_EXAMPLE = "write a filter such as platform = 'ios'"


def _check(node: exp.Expr) -> None:
    if not isinstance(node, _ALLOWED):
        raise ValueError(f"{_refused(node)} is not allowed; {_HINT}")
    if isinstance(node, exp.Column) and (
        node.args.get("table") or node.args.get("db") or node.args.get("catalog")
    ):
        raise ValueError(
            f"the column {_show(node)} names a table; write the units table's column alone, "
            f"such as {node.name}"
        )
    if isinstance(node, exp.Column) and not isinstance(node.this, exp.Identifier):
        raise ValueError(f"{_show(node)} is not allowed; {_HINT}")
    if isinstance(node, exp.DataType) and node.this not in TYPES:
        raise ValueError(
            f"a cast to {_show(node)} is not allowed; cast to "
            "VARCHAR, INTEGER, BIGINT, DOUBLE, DECIMAL, BOOLEAN, DATE or TIMESTAMP"
        )
    if isinstance(node, exp.In) and any(
        node.args.get(key) is not None for key in ("query", "unnest", "field")
    ):
        raise ValueError(f"{_show(node)} is not allowed: IN takes a list of values; {_HINT}")


_TABLE_FUNCTIONS = ("read_csv", "read_parquet", "read_json", "read_text", "read_blob", "glob")


def _refused(node: exp.Expr) -> str:
    """How a message names a refused part."""
    if isinstance(node, exp.Subquery | exp.Query):
        return f"a subquery {_show(node)}"
    if isinstance(node, exp.Table):
        return f"a table {_show(node)}"
    if isinstance(node, exp.Anonymous):
        return f"the function {node.name}()"
    if isinstance(node, exp.Case):
        return "CASE"
    if isinstance(node, exp.Func):
        name = node.sql_name().lower()
        kind = "table function" if name.startswith(_TABLE_FUNCTIONS) else "function"
        return f"the {kind} {name}()"
    return _show(node)


def _show(node: exp.Expr) -> str:
    try:
        text = node.sql("duckdb")
    except (sqlglot.errors.SqlglotError, RecursionError):
        text = type(node).__name__
    text = " ".join(text.split())
    return text if len(text) <= 60 else text[:57] + "..."


def _quote(text: str) -> str:
    """The segment as messages show it: quoted, on one line, at most 60 characters."""
    text = " ".join(text.split())
    return repr(text if len(text) <= 60 else text[:57] + "...")


def _first_line(error: Exception) -> str:
    line = str(error).splitlines()[0] if str(error) else type(error).__name__
    return line[:200]


def _reason(error: Exception) -> str:
    """sqlglot's own words for a syntax error, and where it is."""
    found = getattr(error, "errors", None)
    if found and isinstance(found[0], dict) and found[0].get("description"):
        first = found[0]
        description = str(first["description"]).split(" for <class")[0]
        return f"{description} at column {first.get('col')}"
    return _first_line(error)
