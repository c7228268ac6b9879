"""The report's look from project settings: pyproject's [tool.impact.report] or impact.toml."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from conftest import ROOT, demo_launch, impact_cli
from matplotlib.figure import Figure

from impact import settings
from impact.errors import SpecError

TODAY = "2026-11-26"


def _png() -> bytes:
    figure = Figure(figsize=(0.5, 0.3), dpi=40)
    figure.patch.set_facecolor("#123456")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def test_a_review_wears_the_projects_look(tmp_path: Path) -> None:
    demo_launch(tmp_path, units=2000)
    (tmp_path / "brand").mkdir()
    (tmp_path / "brand" / "logo.png").write_bytes(_png())
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "checkout-reviews"\n\n'
        "[tool.impact.report]\n"
        'logo = "brand/logo.png"\n'
        'logo_alt = "Checkout team"\n'
        'footer = "Checkout team <analytics> · questions to #checkout"\n'
        'colors = {accent = "#123456", background = "#FAFAFA"}\n'
    )
    done = impact_cli("review", "specs/demo-checkout.yaml", "--today", TODAY, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    html = (tmp_path / "reports" / "demo-checkout" / "56d.html").read_text()
    logo = re.search(r'<header class="impact-look-header"><img ([^>]*)>', html)
    assert logo is not None
    for part in ('alt="Checkout team"', 'height="40"', 'src="data:image/png;base64,'):
        assert part in logo[1]
    assert "body.jp-Notebook h1, body.jp-Notebook h2 { color: #123456; }" in html
    # the card's outcome word is not painted in the accent (found by a new user)
    assert html.index("body.jp-Notebook .impact-card h1 { color: inherit; }") > html.index(
        "body.jp-Notebook h1, body.jp-Notebook h2 { color: #123456; }"
    )
    assert "body.jp-Notebook { background: #fafafa; }" in html
    footer = html[html.index('<footer class="impact-look-footer">') :]
    assert footer.startswith(
        '<footer class="impact-look-footer">Checkout team &lt;analytics&gt; · questions to '
        "#checkout</footer>"
    )
    assert "<analytics>" not in html
    assert "http://" not in html.replace("http://www.w3.org", "")  # nothing remote


def test_impact_toml_is_read_first_and_defaults_stay_when_there_is_none(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n')
    assert settings.report_look(tmp_path / "specs") == settings.ReportLook(
        source=tmp_path / "pyproject.toml"
    )  # the nearest project, without [tool.impact.report]: the default look
    (tmp_path / "pyproject.toml").write_text('[tool.impact.report]\nfooter = "from pyproject"\n')
    (tmp_path / "impact.toml").write_text('[report]\nfooter = "from impact.toml"\n')
    look = settings.report_look(tmp_path / "specs")
    assert look.footer == "from impact.toml" and look.source == tmp_path / "impact.toml"


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ('[report]\nfooterr = "x"\n', '[report].footerr: unknown key; did you mean "footer"?'),
        (
            '[report]\ncolors = {accent = "blue"}\n',
            "[report].colors.accent: 'blue' is not a colour; write #rrggbb, such as #0b5fff",
        ),
        (
            '[report]\ncolors = {accent = "#0b5fff;}body{x:y"}\n',
            "is not a colour; write #rrggbb",
        ),
        ('[report]\nlogo = "logo.exe"\n', "[report].logo: logo.exe is not an image file"),
        ('[report]\nlogo = "gone.png"\n', "cannot be read"),
        ("[report\n", "the project settings cannot be read"),
        # a misspelt table was ignored silently (found by a new user)
        ('[reprot]\nfooter = "x"\n', '[reprot]: unknown table; did you mean "[report]"?'),
        ('[tool.impact.report]\nfooter = "x"\n', "impact.toml takes [report] (without the"),
    ],
)
def test_wrong_settings_are_bad_input_in_one_line(tmp_path: Path, text: str, words: str) -> None:
    (tmp_path / "impact.toml").write_text(text)
    with pytest.raises(SpecError) as raised:
        settings.report_look(tmp_path)
    assert words in str(raised.value) and "\n" not in str(raised.value)
    assert str(raised.value).startswith(str(tmp_path / "impact.toml"))


def test_a_misspelt_table_in_pyproject_is_bad_input(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\n[tool.impact.reprot]\nfooter = "x"\n'
    )
    with pytest.raises(SpecError) as raised:
        settings.report_look(tmp_path)
    assert str(raised.value) == (
        f"{tmp_path / 'pyproject.toml'}: [tool.impact.reprot]: unknown table; did you mean "
        '"[tool.impact.report]"?'
    )
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n[tool.black]\nx = 1\n')
    assert settings.report_look(tmp_path).footer is None  # other tools' tables are theirs


def test_a_wrong_setting_stops_the_review_before_it_runs(tmp_path: Path) -> None:
    demo_launch(tmp_path, units=2000)
    (tmp_path / "impact.toml").write_text('[report]\ncolors = {accent = "red"}\n')
    done = impact_cli("review", "specs/demo-checkout.yaml", "--today", TODAY, cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "colors.accent: 'red' is not a colour" in done.stderr
    assert not (tmp_path / "reports").exists()


def test_the_docs_example_project_is_read_as_documented() -> None:
    folder = ROOT / "docs" / "examples" / "team-project"
    look = settings.report_look(folder / "specs")
    assert look.source == folder / "pyproject.toml"
    assert look.logo is not None and look.logo.startswith("data:image/svg+xml;base64,")
    assert look.logo_alt == "Checkout team"
    assert look.footer == "Checkout team · questions to #checkout-analytics"
    assert look.colors == {"accent": "#0b5fff", "text": "#1b1b1b", "background": "#ffffff"}
    documented = (ROOT / "docs" / "templates.md").read_text()
    settings_text = (folder / "pyproject.toml").read_text()
    table = settings_text[settings_text.index("[tool.impact.report]") :].strip()
    assert table in documented


def _branded(folder: Path) -> None:
    (folder / "brand").mkdir()
    (folder / "brand" / "logo.png").write_bytes(_png())
    (folder / "impact.toml").write_text(
        "[report]\n"
        'logo = "brand/logo.png"\n'
        'logo_alt = "Checkout team"\n'
        'footer = "Checkout team <analytics>"\n'
        'colors = {accent = "#123456", text = "#222222"}\n'
    )


def _wears_the_look(page: str) -> None:
    logo = re.search(r'<header class="impact-look-header"><img ([^>]*)>', page)
    assert logo is not None
    assert 'alt="Checkout team"' in logo[1] and 'src="data:image/png;base64,' in logo[1]
    assert page.count('<footer class="impact-look-footer">Checkout team &lt;analytics&gt;') == 1
    assert "<analytics>" not in page
    assert "h2 { color: #123456; }" in page and "{ color: #222222; }" in page


def test_the_portfolio_and_quarter_pages_wear_the_projects_look(tmp_path: Path) -> None:
    from quarters import publish, verdict

    from impact import quarter_run

    _branded(tmp_path)
    for index in range(2):
        publish(tmp_path, verdict(f"launch-{index}", status="target_met" if index else "harm"))
    (tmp_path / "specs").mkdir()
    published = quarter_run.run(
        tmp_path / "specs", quarter_label="2026Q4", today="2026-12-20", output_dir=tmp_path
    )
    _wears_the_look(published.report.read_text())
    _wears_the_look((tmp_path / "reports" / "index.html").read_text())


def test_the_portfolio_keeps_its_plain_look_without_settings(tmp_path: Path) -> None:
    from quarters import publish, verdict

    from impact import portfolio

    publish(tmp_path, verdict("launch"))
    page = portfolio.write(tmp_path).read_text()
    assert "<header" not in page and "<footer" not in page and "color: #123456" not in page


def test_a_wrong_setting_stops_the_quarter_before_it_runs(tmp_path: Path) -> None:
    from impact import quarter_run

    (tmp_path / "specs").mkdir()
    (tmp_path / "impact.toml").write_text("[report]\nfooter = 3\n")
    with pytest.raises(SpecError, match=r"impact.toml: \[report\].footer: 3 is not text"):
        quarter_run.run(
            tmp_path / "specs", quarter_label="2026Q4", today="2026-12-20", output_dir=tmp_path
        )
    assert not (tmp_path / "reports").exists()
