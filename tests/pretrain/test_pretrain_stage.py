"""The ``tiny`` pretraining stage end to end through the CLI function."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from datasets import Dataset, DatasetDict
from typer.testing import CliRunner

from spacy_cbio.pretrain.cli import benchmark, pretrain
from spacy_cbio.pretrain.testing import SAMPLE_FILE

CONFIG = Path(__file__).resolve().parents[2] / "configs" / "pretrain" / "tiny.cfg"
GENERAL_FILE = SAMPLE_FILE.with_name("fr_general_sample.txt")


def _corpus(path: Path, src: Path) -> Path:
    lines = [line for line in src.read_text(encoding="utf8").splitlines() if line.strip()]
    docs = [" ".join(lines[i : i + 3]) for i in range(0, len(lines), 3)]
    cut = len(docs) * 9 // 10
    DatasetDict(
        {"train": Dataset.from_dict({"text": docs[:cut]}), "validation": Dataset.from_dict({"text": docs[cut:]})}
    ).save_to_disk(str(path / "dataset"))
    (path / "stats.md").write_text(f"| source | words |\n|---|---|\n| {src.stem} | {sum(len(d.split()) for d in docs)} |\n")
    return path


def _app() -> typer.Typer:
    app = typer.Typer()
    app.command("pretrain")(pretrain)
    app.command("benchmark-pretrain")(benchmark)
    return app


@pytest.fixture(scope="module")
def stage(tmp_path_factory):
    root = tmp_path_factory.mktemp("pretrain_stage")
    bio = _corpus(root / "bio", SAMPLE_FILE)
    general = _corpus(root / "general", GENERAL_FILE)
    out = root / "out"
    result = CliRunner().invoke(
        _app(),
        ["pretrain", str(CONFIG), str(bio), str(out), "--general-corpus", str(general),
         "--base", "almanach/not-reachable-offline"],
    )
    return result, out, bio


def test_unreachable_base_falls_back_cleanly(stage):
    result, out, _ = stage
    assert result.exit_code == 0, result.output
    assert "unreachable" in result.output and "Falling back to from-scratch" in result.output
    assert "Traceback" not in result.output


def test_runs_lower_the_loss_and_write_metrics(stage):
    _, out, _ = stage
    for run in ("general", "bio", "control"):
        info = json.loads((out / run / "run_info.json").read_text())
        assert info["completed"] and info["steps"] == 16
        assert info["eval_loss_final"] < info["eval_loss_first"], run
        assert info["train_loss_last"] < info["train_loss_first"], run
        records = [json.loads(x) for x in (out / run / "metrics.jsonl").read_text().splitlines()]
        assert any("eval_perplexity" in r for r in records)
        assert any(r.get("tokens_per_s", 0) > 0 for r in records)
        assert any("learning_rate" in r for r in records)
    stage_info = json.loads((out / "pretrain_info.json").read_text())
    assert stage_info["base"] is None
    loss = stage_info["comparison_loss"]
    # the domain effect is measurable: bio beats control on biomedical text
    assert loss["bio"]["biomedical"] < loss["control"]["biomedical"]


def test_outputs_are_offline_loadable_models_with_cards(stage, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    from transformers import AutoModelForMaskedLM, AutoTokenizer

    _, out, _ = stage
    for run in ("general", "bio", "control", "model"):
        names = {p.name for p in (out / run).iterdir()}
        assert {"model.safetensors", "config.json", "tokenizer.json", "README.md", "metrics.jsonl"} <= names
        assert "pytorch_model.bin" not in names
    assert not (out / "model" / "checkpoints").exists()
    assert (out / "bio" / "checkpoints").is_dir()
    model = AutoModelForMaskedLM.from_pretrained(out / "model")
    assert type(model).__name__ == "CamembertForMaskedLM"
    tok = AutoTokenizer.from_pretrained(out / "model")
    assert model.get_input_embeddings().num_embeddings > tok.mask_token_id
    card = (out / "model" / "README.md").read_text()
    for needle in ("fr_bio_sample", "tokens seen", "validation perplexity", "AutoModelForMaskedLM.from_pretrained",
                   "transformers", "hardware", "| bio |"):
        assert needle in card, needle

    import spacy

    nlp = spacy.blank("fr")
    nlp.add_pipe("transformer", config={"model": {"name": str(out / "model")}})
    nlp.initialize()
    doc = nlp("Le scanner thoracique a montré un épanchement pleural.")
    assert doc._.trf_data.tensors[0].shape[-1] == model.config.hidden_size


def test_resume_skips_finished_runs(stage):
    _, out, bio = stage
    general = out.parent / "general"
    before = (out / "bio" / "model.safetensors").read_bytes()
    result = CliRunner().invoke(
        _app(), ["pretrain", str(CONFIG), str(bio), str(out), "--general-corpus", str(general), "--resume", "--base", ""]
    )
    assert result.exit_code == 0, result.output
    assert result.output.count("already complete") == 3
    assert (out / "bio" / "model.safetensors").read_bytes() == before


def test_missing_general_corpus_without_base_is_an_error(stage, tmp_path):
    _, _, bio = stage
    result = CliRunner().invoke(_app(), ["pretrain", str(CONFIG), str(bio), str(tmp_path / "o"), "--base", ""])
    assert result.exit_code == 1
    assert "general corpus" in result.output


def test_benchmark_writes_ratio_and_card(stage, tmp_path):
    _, out, bio = stage
    result = CliRunner().invoke(
        _app(), ["benchmark-pretrain", str(CONFIG), str(bio), str(tmp_path), "--steps", "3", "--rounds", "1",
                 "--model", str(out / "model")]
    )
    assert result.exit_code == 0, result.output
    bench = json.loads((tmp_path / "benchmark.json").read_text())
    assert set(bench["runs"]) == {"plain", "packed_full_head", "ours"}
    assert bench["ratio"] > 0 and bench["runs"]["ours"]["tokens"] > 0
    assert "Training loop benchmark" in (out / "model" / "README.md").read_text()


def test_reachable_local_base_is_continued_without_a_general_run(stage, tiny_hf_model_dir, tmp_path):
    _, _, bio = stage
    out = tmp_path / "out"
    result = CliRunner().invoke(
        _app(), ["pretrain", str(CONFIG), str(bio), str(out), "--base", str(tiny_hf_model_dir), "--max-steps", "4"]
    )
    assert result.exit_code == 0, result.output
    assert "Falling back" not in result.output
    assert not (out / "tokenizer").exists() and not (out / "control").exists()
    assert not (out / "general" / "metrics.jsonl").exists()  # the base, saved, not trained
    info = json.loads((out / "bio" / "run_info.json").read_text())
    assert info["steps"] == 4 and info["init"] == str(out / "general")
    from transformers import AutoTokenizer

    # continual pretraining keeps the base's tokenizer
    assert AutoTokenizer.from_pretrained(out / "model").get_vocab() == AutoTokenizer.from_pretrained(
        tiny_hf_model_dir
    ).get_vocab()


def test_resume_with_a_changed_profile_starts_afresh(stage, tmp_path):
    _, out, bio = stage
    general = out.parent / "general"
    changed = tmp_path / "changed.cfg"
    changed.write_text(CONFIG.read_text().replace("lr = 0.002", "lr = 0.001"))
    copy = tmp_path / "out"
    import shutil

    shutil.copytree(out, copy)
    result = CliRunner().invoke(
        _app(), ["pretrain", str(changed), str(bio), str(copy), "--general-corpus", str(general), "--resume",
                 "--general-steps", "2", "--max-steps", "2"]
    )
    assert result.exit_code == 0, result.output
    assert "already complete" not in result.output
    assert result.output.count("starting it afresh") == 3
    assert json.loads((copy / "bio" / "run_info.json").read_text())["steps"] == 2
