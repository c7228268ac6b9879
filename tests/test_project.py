"""The project's own rules: public API, one-way imports, packaging files in step."""

from __future__ import annotations

import ast
import re
import subprocess
import tomllib
from pathlib import Path
from types import ModuleType

import yaml
from conftest import ROOT

import impact

PACKAGE = ROOT / "impact"

# Which project modules each module may import (DESIGN.md, Layout). "stats" may import
# nothing of the project; templates are checked in tests/test_templates.py.
ALLOWED: dict[str, set[str]] = {
    "errors": set(),
    "handover": set(),
    "seal": set(),
    "engine": {"stopping"},
    "sandbox": set(),
    "spec": {"errors", "sandbox"},
    "registry": {"errors", "spec", "team_templates"},
    "sources": {"errors", "spec", "sandbox"},
    "ahead": {"sources"},
    "entry": {"cli", "errors", "stopping"},
    "metrics": {"errors", "spec", "sources", "stats"},
    "datachecks": {"errors", "spec", "sources"},
    "looks": {"errors", "spec", "metrics", "stats", "verdict", "layout"},
    "stats": {"stats"},
    "formats": {"spec"},
    "spec_summary": {"spec", "formats"},
    "verdict": {"errors", "spec", "stats", "formats"},
    "analysis": {"errors", "spec", "metrics", "stats"},
    "rollout": {"errors", "spec", "metrics", "stats", "analysis", "verdict"},
    "segments": {"errors", "spec", "sources", "metrics", "stats", "analysis", "verdict", "rollout"},
    "adoption": {"errors", "spec", "sources", "stats", "message"},
    "payload": {"spec", "registry", "looks", "stats", "verdict", "team_templates"},
    "review": {
        "ahead",
        "payload",
        "errors",
        "spec",
        "registry",
        "sources",
        "metrics",
        "stats",
        "verdict",
        "analysis",
        "adoption",
        "handover",
        "datachecks",
        "looks",
        "formats",
        "rollout",
        "seal",
        "segments",
        "team_templates",
    },
    "adoption_review": {
        "errors",
        "spec",
        "registry",
        "review",
        "payload",
        "adoption",
        "verdict",
        "seal",
    },
    "series": {"errors", "spec", "sources"},
    "prepost": {
        "payload",
        "errors",
        "spec",
        "registry",
        "sources",
        "series",
        "review",
        "adoption",
        "stats",
        "verdict",
        "handover",
        "formats",
        "seal",
    },
    "display": {"report"},
    "quarter": {"errors", "spec", "portfolio", "registry", "schedule", "stats"},
    "quarter_run": {
        "errors",
        "export",
        "engine",
        "layout",
        "portfolio",
        "publish",
        "quarter",
        "report",
        "runner",
        "settings",
    },
    "report": {
        "payload",
        "quarter",
        "errors",
        "spec",
        "review",
        "prepost",
        "adoption",
        "adoption_review",
        "verdict",
        "stats",
        "analysis",
        "sources",
        "formats",
        "message",
        "segments",
        "plots",
        "svg",
    },
    "svg": set(),
    "plots": {
        "svg",
        "errors",
        "analysis",
        "rollout",
        "spec",
        "review",
        "prepost",
        "adoption_review",
        "verdict",
        "stats",
        "formats",
        "message",
    },
    "layout": set(),
    "export": {"errors", "verdict", "settings", "team_sections"},
    "preflight": {"ahead", "looks", "metrics", "prepost", "publish", "review", "spec"},
    "runner": {
        "ahead",
        "display",
        "preflight",
        "export",
        "errors",
        "spec",
        "review",
        "prepost",
        "verdict",
        "message",
        "portfolio",
        "layout",
        "engine",
        "handover",
        "publish",
        "outbox",
        "seal",
        "adoption_review",
        "team_templates",
        "team_sections",
        "report",
        "settings",
    },
    "stopping": set(),
    "publish": {"layout", "outbox", "stopping"},
    "outbox": {"errors", "message", "layout"},
    "workers": {"stopping"},
    "portfolio": {"formats", "settings"},
    "schedule": {
        "sources",
        "errors",
        "spec",
        "registry",
        "runner",
        "message",
        "layout",
        "publish",
        "outbox",
        "stopping",
        "workers",
    },
    "message": {"formats"},
    "demo": {"errors", "spec"},
    "demo_rollout": {"demo"},
    "scaffold": {"errors"},
    "team_templates": {"errors", "spec"},
    "team_sections": {"engine", "message", "team_templates", "report"},
    "settings": {"errors"},
    "frames": {"errors", "review", "prepost", "adoption_review", "stats", "sources"},
    "plan": {"errors", "spec", "stats"},
    "plan_prepost": {"errors", "spec", "stats", "series", "prepost", "formats"},
    "extraction": {
        "errors",
        "export",
        "runner",
        "seal",
        "spec",
        "team_sections",
        "team_templates",
    },
    "cli_common": {"errors", "stopping"},
    "cli_schedule": {
        "cli_common",
        "errors",
        "spec",
        "review",
        "runner",
        "schedule",
        "portfolio",
        "publish",
        "outbox",
        "quarter_run",
        "settings",
        "sources",
    },
    "cli": {
        "spec_summary",
        "engine",
        "preflight",
        "formats",
        "cli_common",
        "cli_schedule",
        "errors",
        "spec",
        "registry",
        "review",
        "runner",
        "demo",
        "demo_rollout",
        "scaffold",
        "plan",
        "plan_prepost",
        "portfolio_demo",
        "quarter_run",
        "team_templates",
        "team_sections",
        "settings",
        "message",
        "extraction",
    },
    "portfolio_demo": {"registry", "spec"},
    "__init__": {"errors", "spec", "review", "verdict", "display", "prepost", "adoption_review"},
    "__main__": {"entry"},
}


def _project_imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("impact"):
            parts = node.module.split(".")
            if len(parts) == 1:
                found.update(alias.name for alias in node.names)
            else:
                found.add(parts[1])
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("impact."):
                    found.add(alias.name.split(".")[1])
    return found


def test_imports_point_one_way() -> None:
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE)
        module = relative.parts[0] if len(relative.parts) > 1 else path.stem
        allowed = ALLOWED[module] | {module}
        wrong = _project_imports(path) - allowed
        assert not wrong, f"{relative} imports {sorted(wrong)}; allowed: {sorted(allowed)}"


def test_public_api_is_sorted_and_complete() -> None:
    assert impact.__all__ == sorted(impact.__all__)
    for name in impact.__all__:
        assert hasattr(impact, name), name
    public = {
        name
        for name, value in vars(impact).items()
        if not name.startswith("_") and name != "annotations" and not isinstance(value, ModuleType)
    }
    # the result types load lazily (impact._LAZY): public, but not in vars until asked for
    assert public == set(impact.__all__) - {"__version__"} - set(vars(impact)["_LAZY"])


def _requirement_names(requirements: list[str]) -> dict[str, str]:
    pattern = re.compile(r"^([A-Za-z0-9_.-]+)\s*(.*)$")
    names = {}
    for requirement in requirements:
        match = pattern.match(requirement)
        assert match, requirement
        rest = re.sub(r"^\[[^\]]*\]", "", match.group(2))  # extras: pip's business, not conda's
        names[match.group(1).lower()] = rest.replace(" ", "")
    return names


def test_environment_yml_matches_pyproject() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    environment = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = [item for item in environment["dependencies"] if isinstance(item, str)]
    conda_names = _requirement_names(
        [item for item in conda if not item.startswith(("python", "pip"))]
    )
    assert conda_names == _requirement_names(project["dependencies"])
    pip_part = next(item for item in environment["dependencies"] if isinstance(item, dict))
    assert pip_part == {"pip": ["-e ."]}


def test_constraints_pin_every_dependency() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pinned = {
        line.split("==")[0].lower().replace("_", "-")
        for line in (ROOT / "constraints.txt").read_text().splitlines()
        if "==" in line
    }
    wanted = [*project["dependencies"], *project["optional-dependencies"]["test"]]
    for name in _requirement_names(wanted):
        assert name.replace("_", "-") in pinned, f"{name} is not pinned in constraints.txt"


def test_templates_link_into_the_package() -> None:
    """templates/ is where a team's templates go; the built-in ones are linked into it."""
    folder = ROOT / "templates"
    assert folder.is_dir() and not folder.is_symlink()
    assert (folder / "README.md").is_file()
    for builtin in sorted((PACKAGE / "templates").glob("*.ipynb")):
        link = folder / builtin.name
        assert link.is_symlink() and link.resolve() == builtin.resolve()


def test_output_folders_say_what_lands_there_and_ignore_the_rest() -> None:
    ignored = subprocess.run(
        [
            "git",
            "check-ignore",
            "notebooks/x/56d.ipynb",
            "reports/x/56d.html",
            "reports/index.html",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.split()
    assert ignored == ["notebooks/x/56d.ipynb", "reports/x/56d.html", "reports/index.html"]
    for folder in ("notebooks", "reports"):
        readme = ROOT / folder / "README.md"
        assert readme.is_file() and "git ignores everything here" in readme.read_text()
        kept = subprocess.run(
            ["git", "check-ignore", "-q", f"{folder}/README.md"], cwd=ROOT, check=False
        )
        assert kept.returncode == 1  # not ignored


def test_readme_starts_with_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text()
    quick_start = readme.split("## Quick start", 1)[1]
    commands = re.findall(r"^make \w+", quick_start, flags=re.MULTILINE)
    assert commands[:2] == ["make demo", "make test"]
