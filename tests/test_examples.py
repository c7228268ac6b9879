"""The scheduler examples in examples/ run as written (with the clock fixed by --today).

The GitHub Actions workflow's steps are run as a script on a runner that starts empty each
time (a fresh clone of a bare "remote"), twice: the second run finds the state the first
committed, reviews nothing again and posts nothing again. Airflow's DAG is run by a real
Airflow in benchmarks/airflow_check.sh (installing Airflow takes minutes).
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml
from conftest import DEMO_SPEC, ROOT
from test_scheduling import Receiver, receiver  # noqa: F401 (a fixture)

EXAMPLES = ROOT / "examples"
TODAY = "2026-11-26"


def _git(*args: str, cwd: Path) -> str:
    done = subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, check=True, timeout=60
    )
    return done.stdout


def _environment(tmp_path: Path, url: str) -> dict[str, str]:
    bin_dir = str(Path(sys.executable).parent)
    return {
        **os.environ,
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "IMPACT_WEBHOOK": url,
        "IMPACT_REPORT_URL": "https://reports.example.org/launches",
        "IMPACT_DATA_URL": "",
        "GIT_AUTHOR_DATE": "2026-11-26T06:15:00Z",
        "GIT_COMMITTER_DATE": "2026-11-26T06:15:00Z",
        "HOME": str(tmp_path),
    }


def _steps(workflow: dict[str, Any]) -> list[dict[str, Any]]:
    return list(workflow["jobs"]["review"]["steps"])


def _run_workflow(checkout: Path, env: dict[str, str]) -> tuple[int, str]:
    """The workflow's ``run`` steps in order, as the runner would (``uses`` steps are the
    runner's own: checkout is the clone made here, Python is this interpreter, the artifact
    upload is left out). Returns the review step's exit code and all output."""
    workflow = yaml.safe_load((checkout / ".github/workflows/impact-reviews.yml").read_text())
    outputs = checkout.parent / f"{checkout.name}.outputs"
    outputs.write_text("")
    env = {**env, "GITHUB_OUTPUT": str(outputs)}
    log = []
    review_exit = -1
    for step in _steps(workflow):
        if "run" not in step or step.get("name") == "install":
            continue  # installing: this interpreter already has impact
        script = step["run"]
        if step.get("id") == "review":  # the clock of the test
            script = script.replace(
                "impact run --due specs", f"impact run --due specs --today {TODAY}"
            )
        values = dict(line.split("=", 1) for line in outputs.read_text().split())
        condition = str(step.get("if", ""))
        if "steps.review.outputs.exit != '0'" in condition and values.get("exit") == "0":
            continue
        script = re.sub(
            r"\$\{\{\s*steps\.review\.outputs\.exit\s*\}\}", values.get("exit", ""), script
        )
        assert "${{" not in script, script
        done = subprocess.run(
            ["bash", "-eo", "pipefail", "-c", script],
            cwd=checkout,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        log.append(f"$ {step.get('name')}\n{done.stdout}{done.stderr}")
        if step.get("id") == "review":
            review_exit = int(
                dict(line.split("=", 1) for line in outputs.read_text().split())["exit"]
            )
        elif step.get("name", "").startswith("fail when"):
            assert done.returncode == review_exit
        else:
            assert done.returncode == 0, "\n".join(log)
    return review_exit, "\n".join(log)


def test_the_github_workflow_twice_on_empty_runners_posts_each_verdict_once(
    tmp_path: Path,
    receiver: Receiver,  # noqa: F811
) -> None:
    remote, repo = tmp_path / "remote.git", tmp_path / "repo"
    _git("init", "-q", "--bare", str(remote), cwd=tmp_path)
    _git("init", "-q", "-b", "main", str(repo), cwd=tmp_path)
    (repo / ".github" / "workflows").mkdir(parents=True)
    (repo / "scripts").mkdir()
    (repo / "specs").mkdir()
    workflow = EXAMPLES / "github-actions" / "impact-reviews.yml"
    (repo / ".github/workflows/impact-reviews.yml").write_text(workflow.read_text())
    fetch = (EXAMPLES / "github-actions" / "fetch-data.sh").read_text()
    (repo / "scripts" / "fetch-data.sh").write_text(fetch)
    (repo / ".gitignore").write_text((ROOT / ".gitignore").read_text())
    for index, launch_date in enumerate(["2026-09-01", "2026-08-25"]):
        document = yaml.safe_load(DEMO_SPEC.read_text())
        document.update(id=f"launch-{index}", title=f"Launch {index}", launch_date=launch_date)
        (repo / "specs" / f"launch-{index}.yaml").write_text(yaml.safe_dump(document))
    env = _environment(tmp_path, receiver.url)
    _git("add", ".", cwd=repo)
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-qm", "specs"],
        cwd=repo,
        env=env,
        check=True,
        timeout=60,
    )
    _git("remote", "add", "origin", str(remote), cwd=repo)
    _git("push", "-q", "-u", "origin", "main", cwd=repo)

    for day in (1, 2):
        runner = tmp_path / f"runner-{day}"  # every run starts from a fresh checkout
        _git("clone", "-q", "-b", "main", str(remote), str(runner), cwd=tmp_path)
        assert not (runner / "data").exists()  # data are fetched, never committed
        code, log = _run_workflow(runner, env)
        assert code == 0, log
        if day == 1:
            assert "published: launch-0 56d, launch-1 56d" in log
        else:
            assert "nothing is due" in log and "published: nothing" in log
        assert len(receiver.received) == 2, log
    keys = sorted(message["idempotency_key"] for message in receiver.received)
    assert [key.rsplit(":", 1)[0] for key in keys] == ["launch-0:56d", "launch-1:56d"]
    assert all("https://reports.example.org/launches/" in m["text"] for m in receiver.received)
    committed = _git("ls-tree", "-r", "--name-only", "main", cwd=remote).split()
    assert "reports/launch-0/56d.manifest" in committed
    assert not any(name.startswith("data/") for name in committed)


def test_the_github_workflow_uploads_reports_always_and_keeps_state_unless_cancelled() -> None:
    workflow = yaml.safe_load((EXAMPLES / "github-actions" / "impact-reviews.yml").read_text())
    steps = {step.get("name") or step.get("uses"): step for step in _steps(workflow)}
    upload = steps["actions/upload-artifact@v4"]
    assert upload["if"] == "always()" and "reports/" in upload["with"]["path"]
    assert steps["keep the state for tomorrow"]["if"] == "${{ !cancelled() }}"
    assert "git add --force reports/" in steps["keep the state for tomorrow"]["run"]


def test_the_cron_line_runs_as_written(tmp_path: Path, receiver: Receiver) -> None:  # noqa: F811
    lines = [
        line
        for line in (EXAMPLES / "cron" / "impact.cron").read_text().splitlines()
        if line and not line.startswith("#") and "=" not in line.split()[0]
    ]
    assert len(lines) == 1
    fields = lines[0].split(maxsplit=5)
    assert fields[:5] == ["15", "6", "*", "*", "*"]
    command = fields[5].replace("/srv/launch-reviews", shlex.quote(str(tmp_path)))
    command = command.replace(".venv/bin/impact", f"{shlex.quote(sys.executable)} -m impact")
    command = command.replace("--jobs 2", f"--jobs 2 --today {TODAY}")
    (tmp_path / "logs").mkdir()
    (tmp_path / "specs").mkdir()
    done = subprocess.run(
        ["sh", "-c", command],
        env=_environment(tmp_path, receiver.url),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "nothing is due" in (tmp_path / "logs" / "impact.log").read_text()
