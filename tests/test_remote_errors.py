"""A warehouse's own error, said in one line that ends where a sentence does."""

from __future__ import annotations

from impact.sources import source

SPARK_NOT_FOUND = (
    "[TABLE_OR_VIEW_NOT_FOUND] The table or view `analytics`.`product_evnts` cannot be found. "
    "Verify the spelling and correctness of the schema and catalog.\n"
    "If you did not qualify the name with a schema, verify the current_schema() output, or "
    "qualify the name with the correct schema and catalog.\nTo tolerate the error on drop use "
    "DROP VIEW IF EXISTS or DROP TABLE IF EXISTS. SQLSTATE: 42P01; line 1 pos 14;\n'Project [*]"
)


def test_a_spark_table_that_is_not_there_says_what_would_be_right() -> None:
    """Found by a new user: Spark's 300 characters, cut mid-sentence ("... verify the
    current)"), and no word of what data.events may name."""
    error = source.unreadable("spark: analytics.product_evnts", Exception(SPARK_NOT_FOUND))
    assert str(error) == (
        "spark: analytics.product_evnts: no such table or view in Spark's catalog; name a "
        "catalog table (schema.table) or a Parquet file or folder (a path relative to the spec)"
    )


def test_another_error_is_cut_where_a_sentence_ends() -> None:
    text = "First sentence here. " + "word " * 100
    error = source.unreadable("postgresql://u@h/db:daily", ValueError(text))
    assert str(error) == "postgresql://u@h/db:daily: cannot be read (First sentence here.)"
    long = "word " * 100
    error = source.unreadable("spark: daily", ValueError(long))
    assert str(error).endswith(" word ...)") and len(str(error)) <= len("spark: daily: ") + 320
    assert str(source.unreadable("spark: t", RuntimeError())) == (
        "spark: t: cannot be read (RuntimeError)"
    )
