"""The ``spacy-cbio`` command group: every stage's command listed, and a run of one command
importing only that command's module."""
from __future__ import annotations

import subprocess
import sys

import pytest
from typer.testing import CliRunner

from spacy_cbio.__main__ import COMMAND_NAMES, app, make_app


def test_help_lists_every_command_in_workflow_order():
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0, result.output
    positions = [result.output.find(f" {name} ") for name in COMMAND_NAMES]
    assert -1 not in positions and positions == sorted(positions)


def test_one_command_app_keeps_the_command_name():
    """A group with one command still reads ``summarize DIR``, not ``DIR`` alone."""
    result = CliRunner().invoke(make_app(["summarize"]), ["summarize", "--help"])
    assert result.exit_code == 0 and "metrics" in result.output.lower()
    assert CliRunner().invoke(make_app(["summarize"]), ["evaluate", "--help"]).exit_code != 0


def test_a_command_run_imports_only_its_module(tmp_path):
    """``python -m spacy_cbio summarize`` does not import the other stages' CLI modules."""
    code = ("import sys; sys.argv = ['spacy-cbio', 'summarize', '--help']\n"
            "from spacy_cbio.__main__ import main\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in sys.modules if m.endswith('.cli') and m.startswith('spacy_cbio')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "['spacy_cbio.evaluate.cli']"


def test_unknown_command_is_a_clear_error(monkeypatch, capsys):
    from spacy_cbio.__main__ import main

    monkeypatch.setattr(sys, "argv", ["spacy-cbio", "no-such-command"])
    with pytest.raises(SystemExit) as exit_:
        main()
    assert exit_.value.code == 2 and "No such command" in capsys.readouterr().err


def test_library_logs_print_bare_on_stderr_and_the_root_logger_is_left_alone(tmp_path):
    """A command's progress and warnings (module loggers) reach stderr as bare lines, warnings
    marked ``WARNING:``; stdout keeps the command's own output; no handler on the root logger."""
    code = ("import logging, sys\n"
            "from spacy_cbio.__main__ import main\n"
            "sys.argv = ['spacy-cbio', 'assemble-config', sys.argv[1], '--recipe', 'cnn',\n"
            "            '--paths.vectors', 'fr_no_such_vectors_package']\n"
            "try:\n"
            "    main()\n"
            "except SystemExit:\n"
            "    pass\n"
            "assert not logging.getLogger().handlers, logging.getLogger().handlers\n")
    result = subprocess.run([sys.executable, "-c", code, str(tmp_path / "x.cfg")], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    warning = [line for line in result.stderr.splitlines() if "fr_no_such_vectors_package" in line]
    assert warning and warning[0].startswith("WARNING: vectors 'fr_no_such_vectors_package'")
    assert "Wrote" in result.stdout and "WARNING" not in result.stdout
    assert (tmp_path / "x.cfg").is_file()
