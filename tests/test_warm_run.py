"""The workflow tests' runner (tests/warm_run.py): ``spacy project run`` with each ``python -m``
command forked from a warm process."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]


def test_warm_runner_runs_each_module_command_as_python_m_would(tmp_path):
    """tests/warm_run.py (the workflow tests' runner): a ``python -m`` command runs from the
    project's folder with its arguments, output and status; a failing one stops the workflow
    with its status, as weasel stops it."""
    (tmp_path / "mod_ok.py").write_text(
        "import sys, pathlib\npathlib.Path('out.txt').write_text(' '.join(sys.argv[1:]) + ' ' + __file__)\n"
        "print('ran ok')\n", encoding="utf8")
    (tmp_path / "mod_fail.py").write_text("import sys\nsys.exit(3)\n", encoding="utf8")
    (tmp_path / "project.yml").write_text(yaml.safe_dump({
        "commands": [
            {"name": "ok", "script": ["python -m mod_ok a --b=c"], "outputs": ["out.txt"]},
            {"name": "fail", "script": ["python -m mod_fail"]},
        ],
        "workflows": {"all": ["ok", "fail"]},
    }), encoding="utf8")
    runner = [sys.executable, str(REPO / "tests" / "warm_run.py"), "project", "run", "all", str(tmp_path)]
    result = subprocess.run(runner, cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 3, result.stdout + result.stderr
    assert "ran ok" in result.stdout and "Running command:" in result.stdout
    assert (tmp_path / "out.txt").read_text(encoding="utf8") == f"a --b=c {tmp_path / 'mod_ok.py'}"
