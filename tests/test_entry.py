"""The ``impact`` command's process ends without Python's teardown, keeping what it must.

Python's teardown frees the notebook stack object by object and collects its cycles: about
0.6 s of an 8 s review at 10.8M events (docs/performance.md). The command skips it once its
work is done, and these tests hold what must survive that: the atexit handlers (temporary
folders, logging, a stop signal noted while exiting), every byte printed, the exit code.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from impact.errors import EXIT_BAD_INPUT

_COMMAND = """
import atexit, pathlib, runpy, sys

class Teardown:
    def __del__(self):
        pathlib.Path("teardown-ran").write_text("yes")

keep = Teardown()  # freed by Python's teardown only
atexit.register(lambda: pathlib.Path("atexit-ran").write_text("yes"))
sys.argv = ["impact", *sys.argv[1:]]
runpy.run_module("impact", run_name="__main__")
"""


def _impact(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _COMMAND, *args],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_command_skips_python_s_teardown_but_runs_atexit(tmp_path: Path) -> None:
    done = _impact(tmp_path, "new", "--id", "checkout-flow")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "atexit-ran").exists()
    assert not (tmp_path / "teardown-ran").exists()
    assert (tmp_path / "specs" / "checkout-flow.yaml").is_file()


def test_every_line_printed_reaches_the_pipe(tmp_path: Path) -> None:
    """A pipe is block-buffered: what is still in Python's buffer is written before the end."""
    done = _impact(tmp_path, "--help")
    assert done.returncode == 0, done.stderr
    assert "Commands:" in done.stdout
    assert done.stdout.rstrip().endswith("nothing was published after the signal")


@pytest.mark.parametrize(
    ("args", "code"),
    [(["validate", "missing.yaml"], EXIT_BAD_INPUT), (["no-such-command"], 2), (["--help"], 0)],
)
def test_the_exit_code_stands(tmp_path: Path, args: list[str], code: int) -> None:
    done = _impact(tmp_path, *args)
    assert done.returncode == code, done.stderr
    assert (tmp_path / "atexit-ran").exists()
