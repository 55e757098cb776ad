"""`train-datasets`: one pipeline per dataset, several trainings at once."""
import pytest
import srsly
from typer.testing import CliRunner

from spacy_cbio.__main__ import app
from spacy_cbio.train import many
from spacy_cbio.train.testing import write_toy_corpus

runner = CliRunner()


def test_threads_are_shared_out_and_each_dataset_gets_its_data(monkeypatch, tmp_path):
    monkeypatch.setattr(many.os, "cpu_count", lambda: 4)
    assert many.threads_per_job(0, 2) == 2 and many.threads_per_job(0, 8) == 1 and many.threads_per_job(3, 2) == 3
    (run,) = many.plan(["emea"], tmp_path / "out", tmp_path / "corpus", ["--profile=tiny"], threads=1)
    assert run.argv == ["train", str(tmp_path / "out" / "emea"), f"--paths.train={tmp_path / 'corpus' / 'emea' / 'train.spacy'}",
                        f"--paths.dev={tmp_path / 'corpus' / 'emea' / 'dev.spacy'}", "--threads=1", "--profile=tiny"]
    assert run.command[1:3] == ["-m", "spacy_cbio"]


def test_missing_public_data_is_an_error_and_missing_cas_is_skipped(tmp_path, caplog):
    with caplog.at_level("INFO", logger="spacy_cbio"):
        assert many.train_datasets(["cas1", "cas2"], tmp_path / "out", tmp_path / "corpus", []) == []
    assert "cas1: skipped" in caplog.text and "deft.lisn.upsaclay.fr" in caplog.text  # where to ask for it
    with pytest.raises(FileNotFoundError, match="emea: no"):
        many.train_datasets(["cas1", "emea"], tmp_path / "out", tmp_path / "corpus", [])
    result = runner.invoke(app, ["train-datasets", str(tmp_path / "out"), "--datasets", "e3c", "--corpus", str(tmp_path)])
    assert result.exit_code == 1 and "convert" in result.output
    assert runner.invoke(app, ["train-datasets", str(tmp_path / "out"), "--jobs", "0"]).exit_code == 2


@pytest.fixture(scope="module")
def toy_corpus(tmp_path_factory):
    corpus = tmp_path_factory.mktemp("many") / "corpus"
    for name in ("toya", "toyb"):
        write_toy_corpus(corpus / name)
    return corpus


def test_two_trainings_at_once_each_in_its_folder(toy_corpus, tmp_path, tiny_hf_model_dir):
    out = tmp_path / "ner"
    records = many.train_datasets(["toya", "toyb"], out, toy_corpus,
                                  ["--profile=tiny", f"--paths.transformer={tiny_hf_model_dir}", "--no-calibrate"],
                                  jobs=2, threads=1)
    assert [r["dataset"] for r in records] == ["toya", "toyb"] and all(r["returncode"] == 0 for r in records)
    for name in ("toya", "toyb"):
        assert (out / name / "model-best" / "meta.json").is_file()
        info = srsly.read_json(out / name / "run.json")
        assert info["paths"]["train"] == str(toy_corpus / name / "train.spacy") and info["torch_threads"] == 1
        log = (out / name / "train.log").read_text(encoding="utf8")
        assert log.startswith(f"{many.sys.executable} -m spacy_cbio train {out / name}") and "Saved pipeline" in log


def test_a_failed_training_fails_the_command_and_names_its_log(toy_corpus, tmp_path):
    result = runner.invoke(app, ["train-datasets", str(tmp_path / "ner"), "--datasets", "toya,toyb", "--corpus",
                                 str(toy_corpus), "--profile=tiny", "--paths.transformer=nowhere"])
    assert result.exit_code == 1 and "toya, toyb" in result.output
    log = (tmp_path / "ner" / "toya" / "train.log").read_text(encoding="utf8")
    assert "nowhere" in log
