"""``train`` without data: a clear message (CAS: how to get it), exit 0 only with --skip-missing."""
from typer.testing import CliRunner

from spacy_cbio.__main__ import app


def test_train_cas_without_data(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # corpus/ner/cas1/*.spacy do not exist here
    (tmp_path / "model").mkdir()
    runner = CliRunner()
    skipped = runner.invoke(app, ["train", "cas1", "--transformer", "model", "--profile", "tiny",
                                  "--output", "out", "--skip-missing"])
    assert skipped.exit_code == 0, skipped.output
    assert "Skipped cas1" in skipped.output and "deft" in skipped.output.lower()
    assert not (tmp_path / "out").exists()
    failed = runner.invoke(app, ["train", "cas1", "--transformer", "model", "--profile", "tiny", "--output", "out"])
    assert failed.exit_code == 1


def test_package_skip_missing(tmp_path):
    runner = CliRunner()
    result = runner.invoke(app, ["package", str(tmp_path / "none"), str(tmp_path / "pk"),
                                 "--dataset", "cas2", "--skip-missing"])
    assert result.exit_code == 0 and "Skipped" in result.output
    failed = runner.invoke(app, ["package", str(tmp_path / "none"), str(tmp_path / "pk"), "--dataset", "cas2"])
    assert failed.exit_code == 1
