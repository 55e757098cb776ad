"""``summarize``: one markdown table of every ``evaluate`` JSON in a folder."""
import json

from typer.testing import CliRunner

from spacy_cbio.__main__ import make_app
from spacy_cbio.evaluate.metrics import summary_table

app = make_app(["evaluate", "summarize"])


def _metrics(f: float) -> dict:
    return {"model": "m", "data": "d.spacy", "n_docs": 3, "tokens_per_second": 10.0,
            "seqeval_strict_iob2": {"micro": {"p": f, "r": f, "f": f}, "macro": {"p": 0.1, "r": 0.1, "f": 0.1},
                                    "per_type": {}, "counts": {}}}


def test_summary_table_lists_each_file(tmp_path):
    (tmp_path / "emea.json").write_text(json.dumps(_metrics(0.5)))
    (tmp_path / "e3c.json").write_text(json.dumps(_metrics(0.25)))
    (tmp_path / "notes.json").write_text(json.dumps({"other": 1}))
    table = summary_table(tmp_path)
    lines = [line for line in table.strip().splitlines() if line.startswith("|")]
    assert len(lines) == 4  # header, rule, two metrics files (notes.json ignored)
    assert "| e3c.json |" in lines[2] and "25.00" in lines[2]
    assert "| emea.json |" in lines[3] and "50.00" in lines[3]
    # a single run per pipeline, and where the protocol's table is
    assert "One training run per pipeline" in table and "docs/results/<profile>/RESULTS.md" in table


def test_summarize_cli_writes_readme_and_fails_on_empty(tmp_path):
    runner = CliRunner()
    empty = runner.invoke(app, ["summarize", str(tmp_path)])
    assert empty.exit_code == 1
    (tmp_path / "quaero.json").write_text(json.dumps(_metrics(0.75)))
    ok = runner.invoke(app, ["summarize", str(tmp_path)])
    assert ok.exit_code == 0, ok.output
    assert "75.00" in (tmp_path / "README.md").read_text()


def test_evaluate_skip_missing(tmp_path):
    runner = CliRunner()
    result = runner.invoke(app, ["evaluate", str(tmp_path / "nope" / "model-best"),
                                 str(tmp_path / "test.spacy"), "--skip-missing"])
    assert result.exit_code == 0 and "Skipped" in result.output
    strict = runner.invoke(app, ["evaluate", str(tmp_path / "nope" / "model-best"), str(tmp_path / "test.spacy")])
    assert strict.exit_code != 0
