"""Write the notebooks of docs/notebooks/ from this readable source (the notebooks are committed).

    .venv/bin/python tools/write_doc_notebooks.py

tests/test_frames.py executes each one on a small demo launch.
"""

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

DIGGING_IN = [
    new_markdown_cell(
        "# Digging into a review\n\n"
        "The report gives the verdict; this notebook digs into the numbers behind it with "
        "`impact.frames` (docs/notebooks.md lists everything a review result holds). It "
        "reviews the demo launch: run `impact demo` (or `make demo`) in the repository first, "
        "or give papermill another `spec_path`. Nothing here changes the verdict."
    ),
    new_code_cell(
        'spec_path = "../../specs/demo-checkout.yaml"\n'
        'checkpoint = "56d"\n'
        'today = "2026-11-26"  # the review\'s clock, fixed so the numbers do not move',
        metadata={"tags": ["parameters"]},
    ),
    new_markdown_cell("## The review, as the report has it"),
    new_code_cell(
        "from impact import frames, review\n\n"
        "result = review.run(spec_path, checkpoint, today)\n"
        "print(result.verdict.outcome, '-', result.verdict.action)\n"
        "frames.metrics(result)"
    ),
    new_markdown_cell(
        "## Effect by week since exposure\n\n"
        "Each unit's first week, second week and so on, compared across arms. An effect that "
        "shrinks week after week is a novelty effect wearing off."
    ),
    new_code_cell("weeks = frames.per_week(result)\nweeks"),
    new_code_cell(
        "from matplotlib.figure import Figure\n\n"
        "from impact import plots\n\n"
        "figure = Figure(figsize=(5, 2.8), layout='constrained')\n"
        "axes = figure.subplots()\n"
        "axes.errorbar(\n"
        "    weeks['week'],\n"
        "    weeks['effect'] * 100,\n"
        "    yerr=[\n"
        "        (weeks['effect'] - weeks['ci_lower']) * 100,\n"
        "        (weeks['ci_upper'] - weeks['effect']) * 100,\n"
        "    ],\n"
        "    fmt='o',\n"
        ")\n"
        "axes.axhline(0, color='#777777', linewidth=0.8)\n"
        "axes.set_xlabel('week since exposure')\n"
        "axes.set_ylabel('effect (pp)')\n"
        "axes.set_title('Checkout conversion: effect by week', loc='left')\n"
        "alt = 'the effect in percentage points by week since exposure, with intervals'\n"
        "plots.Chart(figure, alt)"
    ),
    new_markdown_cell(
        "## Per arm and per day\n\n"
        "The per-arm values the verdict compared, and the primary metric per arm by day of "
        "first exposure (units whose window ended by as_of)."
    ),
    new_code_cell("frames.per_arm(result)"),
    new_code_cell(
        "days = frames.per_day(result)\n"
        "days.pivot(index='day', columns='arm', values='value').tail()"
    ),
    new_markdown_cell(
        "## A segment the spec did not register\n\n"
        "The result holds sufficient statistics, not units, so a custom cut queries the data "
        "again, with the review's own rules: units whose 14-day window ended before as_of, "
        "purchases inside the window. The comparison uses the library's statistics "
        "(`impact.stats.compare`). A cut chosen after seeing the data is exploration: it "
        "never changes the verdict (registered segments are a spec field)."
    ),
    new_code_cell(
        "import duckdb\n\n"
        "from impact.stats import compare\n\n"
        "source = result.spec.resolve(result.spec.data.source)\n"
        "as_of = result.look.as_of\n"
        "ios = duckdb.sql(f'''\n"
        "    WITH units AS (\n"
        "        SELECT unit_id, variant, exposed_at FROM read_parquet('{source}/units.parquet')\n"
        "        WHERE platform = 'ios' AND exposed_at + INTERVAL 14 DAY <= TIMESTAMP '{as_of}'\n"
        "    ), bought AS (\n"
        "        SELECT DISTINCT e.unit_id FROM read_parquet('{source}/events.parquet') e\n"
        "        JOIN units u USING (unit_id)\n"
        "        WHERE e.event = 'purchase' AND e.ts >= u.exposed_at\n"
        "          AND e.ts < u.exposed_at + INTERVAL 14 DAY AND e.ts < TIMESTAMP '{as_of}'\n"
        "    )\n"
        "    SELECT variant AS arm, count(*) AS units, count(bought.unit_id) AS converted\n"
        "    FROM units LEFT JOIN bought USING (unit_id) GROUP BY 1 ORDER BY 1\n"
        "''').df()\n"
        "ios"
    ),
    new_code_cell(
        "arms = ios.set_index('arm')\n"
        "control, treatment = (\n"
        "    compare.Moments(\n"
        "        int(arms.units[arm]), float(arms.converted[arm]), float(arms.converted[arm])\n"
        "    )\n"
        "    for arm in (result.spec.control, result.spec.treatment)\n"
        ")\n"
        "ios_effect = compare.proportions(control, treatment, alpha=0.05)\n"
        "low, high = ios_effect.ci_lower, ios_effect.ci_upper\n"
        "print(f'iOS: {ios_effect.effect:+.2%} [{low:+.2%}, {high:+.2%}]')"
    ),
]

FOLDER = Path(__file__).resolve().parent.parent / "docs" / "notebooks"
for name, cells in (("digging-into-a-review", DIGGING_IN),):
    for index, cell in enumerate(cells):
        cell["id"] = f"cell-{index:02d}"
    notebook = new_notebook(
        cells=cells,
        metadata={
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
    )
    nbformat.validate(notebook)
    nbformat.write(notebook, FOLDER / f"{name}.ipynb")
