"""docs/cli.md is what docs/gen_cli.py writes from the command-line app today."""
from __future__ import annotations

import importlib.util
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_cli_reference_is_current():
    spec = importlib.util.spec_from_file_location("gen_cli", REPO / "docs" / "gen_cli.py")
    gen_cli = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen_cli)
    expected = gen_cli.render()
    actual = (REPO / "docs" / "cli.md").read_text(encoding="utf8")
    assert actual == expected, "docs/cli.md is stale: run `python docs/gen_cli.py`"
    assert "## `annotate`" in actual and "## `train`" in actual
