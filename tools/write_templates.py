"""Write the notebook templates from this readable source (the notebooks are committed).

    .venv/bin/python tools/write_templates.py

Templates hold no logic: every code cell calls impact and shows the result. Cells carry
stable ids and no outputs, so a regenerated template diffs cleanly.
"""

import copy
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook


def parameters(spec: str) -> object:
    """The papermill parameters cell; as written, it reviews the demo launch."""
    return new_code_cell(
        "# Parameters: papermill replaces these; as they are, they review the demo launch.\n"
        f'spec_path = "../specs/{spec}"\n'
        'checkpoint = None  # a registered review such as "28d"; None for the latest one due\n'
        "today = None  # the review's clock as YYYY-MM-DD; None for today's UTC date\n"
        "data_source = None  # a folder or file to read instead of the spec's data.source",
        metadata={"tags": ["parameters"]},
    )


# The adoption section of a deciding review: nothing at all when the spec has no block.
ADOPTION_SECTION = [
    new_code_cell("display.adoption(result)"),
    new_code_cell("plots.funnel(result)"),
    new_code_cell("plots.retention(result)"),
]

# Every report ends with the data, the methods, the provenance and the verdict payload.
# (Tagged impact-closing: `impact template new` puts a team's section before it.)
CLOSING = [
    new_markdown_cell("## The data behind it", metadata={"tags": ["impact-closing"]}),
    new_code_cell("display.data_summary(result)"),
    new_markdown_cell("## Methods and assumptions"),
    new_code_cell("display.methods(result)"),
    new_markdown_cell("## Provenance"),
    new_code_cell("display.provenance(result)"),
    new_code_cell("display.payload(result)", metadata={"tags": ["impact-payload"]}),
]


EXPERIMENT = [
    new_markdown_cell(
        "# Impact review (experiment)\n\n"
        "The verdict first, then the numbers behind it. Run this notebook as it is (it reviews "
        "the demo launch) or through `impact review SPEC`, which fills in the parameters below. "
        "This cell is left out of the report.",
        metadata={"tags": ["impact-notebook-only"]},
    ),
    parameters("demo-checkout.yaml"),
    new_code_cell(
        "from impact import display, plots, review\n\n"
        "result = review.run(spec_path, checkpoint, today, data_source)\n"
        "display.verdict_card(result)",
        metadata={"tags": ["verdict"]},
    ),
    new_markdown_cell("## What was pre-registered, and what happened"),
    new_code_cell("display.criteria(result)"),
    new_code_cell("plots.effects(result)"),
    new_code_cell("display.contents(result)"),
    new_markdown_cell("## Primary metric"),
    new_code_cell("display.primary(result)"),
    new_code_cell("plots.by_week(result)"),
    new_code_cell("plots.by_exposure_day(result)"),
    new_code_cell("display.bet(result)"),
    new_code_cell("display.guardrails(result)"),
    new_code_cell("display.secondary(result)"),
    new_code_cell("display.segments(result)"),
    new_code_cell("display.stages(result)"),
    *ADOPTION_SECTION,
    *CLOSING,
]


PREPOST = [
    new_markdown_cell(
        "# Impact review (prepost: no control group)\n\n"
        "The verdict first, then the numbers behind it. Run this notebook as it is (it reviews "
        "the prepost demo) or through `impact review SPEC`, which fills in the parameters "
        "below. This cell is left out of the report.",
        metadata={"tags": ["impact-notebook-only"]},
    ),
    parameters("demo-prepost.yaml"),
    new_code_cell(
        "from impact import display, plots, prepost\n\n"
        "result = prepost.run(spec_path, checkpoint, today, data_source)\n"
        "display.verdict_card(result)",
        metadata={"tags": ["verdict"]},
    ),
    new_code_cell("display.observational(result)"),
    new_markdown_cell("## What was pre-registered, and what happened"),
    new_code_cell("display.criteria(result)"),
    new_code_cell("plots.effects(result)"),
    new_code_cell("display.contents(result)"),
    new_markdown_cell("## Primary metric"),
    new_code_cell("display.primary(result)"),
    new_code_cell("plots.counterfactual(result)"),
    new_code_cell("display.bet(result)"),
    new_code_cell("display.guardrails(result)"),
    new_code_cell("display.secondary(result)"),
    *ADOPTION_SECTION,
    new_markdown_cell("## Can the model be trusted?"),
    new_code_cell("display.model_checks(result)"),
    new_code_cell("plots.placebos(result)"),
    *CLOSING,
]

ADOPTION = [
    new_markdown_cell(
        "# Impact review (adoption)\n\n"
        "The verdict first, then the funnel behind it. Run this notebook as it is (it reviews "
        "the adoption demo) or through `impact review SPEC`, which fills in the parameters "
        "below. This cell is left out of the report.",
        metadata={"tags": ["impact-notebook-only"]},
    ),
    parameters("demo-adoption.yaml"),
    new_code_cell(
        "from impact import adoption_review, display, plots\n\n"
        "result = adoption_review.run(spec_path, checkpoint, today, data_source)\n"
        "display.verdict_card(result)",
        metadata={"tags": ["verdict"]},
    ),
    new_markdown_cell("## Who found the feature, who tried it, who came back"),
    new_code_cell("plots.funnel(result)"),
    new_code_cell("display.adoption(result)"),
    new_code_cell("plots.retention(result)"),
    *CLOSING,
]

TEMPLATES = Path(__file__).resolve().parent.parent / "impact" / "templates"
for name, shared in (("experiment", EXPERIMENT), ("prepost", PREPOST), ("adoption", ADOPTION)):
    cells = copy.deepcopy(shared)  # sections are shared between templates; ids are not
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
    nbformat.write(notebook, TEMPLATES / f"{name}.ipynb")
