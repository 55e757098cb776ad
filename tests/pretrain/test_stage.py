"""The ``tiny`` pretraining stage through its CLI commands (stage.py, cli.py, card.py).

``split`` (the session's ``tiny_pretrain_stage``, trained once): pretrain-tokenizer,
pretrain-run general/bio/control and pretrain-report, as the spaCy project runs them.
The ``pretrain`` command (the same steps in one process) runs once, continuing a local base.
"""
from __future__ import annotations

import json
import re
import shutil

import pytest

from spacy_cbio.pretrain.testing import STAGE_STEPS as STEPS
from spacy_cbio.pretrain.testing import TINY_CONFIG as CONFIG
from spacy_cbio.pretrain.testing import UNREACHABLE_BASE as UNREACHABLE
from spacy_cbio.pretrain.testing import invoke_cli as invoke
from spacy_cbio.pretrain.testing import ok as _ok
from spacy_cbio.pretrain.testing import snapshot as _snapshot

RUNS = ("general", "bio", "control")


@pytest.fixture
def split(tiny_pretrain_stage):
    """(output folder, each command's output, snapshots of the runs before the report)."""
    return tiny_pretrain_stage


def test_unreachable_base_falls_back_cleanly(split):
    _, outputs, _ = split
    for output in (outputs[0], outputs[1]):
        assert "unreachable" in output and "WARNING: " in output and "Falling back to from-scratch" in output


def test_runs_lower_the_loss_and_write_metrics(split):
    out = split[0]
    for run in RUNS:
        info = json.loads((out / run / "run_info.json").read_text())
        assert info["completed"] and info["steps"] == int(STEPS) and info["resumed_from_step"] is None
        assert info["eval_loss_final"] < info["eval_loss_first"], run
        assert info["train_loss_last"] < info["train_loss_first"], run
        records = [json.loads(x) for x in (out / run / "metrics.jsonl").read_text().splitlines()]
        assert any("eval_perplexity" in r for r in records)
        assert any("tokens_per_s" in r for r in records)
        assert any("learning_rate" in r for r in records)
    assert json.loads((out / "general" / "run_info.json").read_text())["init"] == "random initialisation"
    assert json.loads((out / "bio" / "run_info.json").read_text())["init"] == str(out / "general")
    # control reads the general corpus in another order than the general run
    assert json.loads((out / "control" / "run_info.json").read_text())["shuffle_seed"] != json.loads(
        (out / "general" / "run_info.json").read_text())["shuffle_seed"]
    tok = json.loads((out / "tokenizer" / "tokenizer_info.json").read_text())
    assert tok["source"] == "trained" and tok["documents"] > 0
    comparison = json.loads((out / "report" / "comparison.json").read_text())
    assert set(comparison["loss"]) == set(RUNS)
    assert comparison["runs"]["general"]["init"] == "random initialisation"
    # the domain effect is measurable: bio beats control on biomedical text
    loss = comparison["loss"]
    assert loss["bio"]["biomedical"] < loss["control"]["biomedical"]
    # a run's own final validation loss is the report's number on its own set (same blocks, same masks)
    assert comparison["loss"]["bio"]["biomedical"] == pytest.approx(
        json.loads((out / "bio" / "run_info.json").read_text())["eval_loss_final"], rel=0.02)


def test_report_writes_only_report_and_model(split):
    out, _, before = split
    for run in RUNS:
        assert _snapshot(out / run) == before[run], f"pretrain-report changed {run}/"
    assert {p.name for p in (out / "report").iterdir()} == {"comparison.json", "README.md"}
    text = (out / "report" / "README.md").read_text()
    assert "| bio |" in text and "| control |" in text and "perplexity" in text


def test_outputs_are_offline_loadable_models_with_cards(split, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    from transformers import AutoModelForMaskedLM, AutoTokenizer

    out = split[0]
    for run in (*RUNS, "model"):
        names = {p.name for p in (out / run).iterdir()}
        assert {"model.safetensors", "config.json", "tokenizer.json", "README.md", "metrics.jsonl",
                "run_info.json"} <= names
        assert "pytorch_model.bin" not in names
    assert not (out / "model" / "checkpoints").exists()
    assert (out / "bio" / "checkpoints").is_dir()
    model = AutoModelForMaskedLM.from_pretrained(out / "model")
    assert type(model).__name__ == "CamembertForMaskedLM"
    tok = AutoTokenizer.from_pretrained(out / "model")
    assert model.get_input_embeddings().num_embeddings > tok.mask_token_id
    # each run's card: its own corpus, numbers and validation perplexity, not the others'
    for run, corpus in (("general", "fr_general_sample"), ("bio", "fr_bio_sample"), ("control", "fr_general_sample")):
        card = (out / run / "README.md").read_text()
        info = json.loads((out / run / "run_info.json").read_text())
        for needle in (corpus, "tokens seen", f"{info['tokens_seen']:,}", "validation perplexity",
                       f"{info['eval_perplexity_final']:.2f}", "hardware", "seed", "transformers"):
            assert needle in card, (run, needle)
        assert "| control |" not in card  # the cross-evaluation is the report's
    card = (out / "model" / "README.md").read_text()
    for needle in ("fr_bio_sample", "tokens seen", "validation perplexity", "AutoModelForMaskedLM.from_pretrained",
                   "| bio |", "| control |", "| general |"):
        assert needle in card, needle

    import spacy

    nlp = spacy.blank("fr")
    nlp.add_pipe("transformer", config={"model": {"name": str(out / "model")}})
    nlp.initialize()
    doc = nlp("Le scanner thoracique a montré un épanchement pleural.")
    assert doc._.trf_data.tensors[0].shape[-1] == model.config.hidden_size


def test_resume_with_other_settings_fails_and_a_fresh_run_clears_the_folder(split, corpora, tmp_path):
    out = split[0]
    run_dir = tmp_path / "bio"
    shutil.copytree(out / "bio", run_dir)
    before = _snapshot(run_dir)
    result = invoke("pretrain-run", "bio", CONFIG, corpora["bio"], run_dir, "--init", out / "general",
                    "--resume", "--steps", "4")
    assert result.exit_code == 1, result.output
    assert "different settings" in result.output and f"max_steps: {STEPS} in the checkpoint, 4 now" in result.output
    assert "Traceback" not in result.output
    assert _snapshot(run_dir) == before  # nothing touched
    # another init is another run too
    result = invoke("pretrain-run", "bio", CONFIG, corpora["bio"], run_dir, "--init", out / "control", "--resume",
                    "--steps", STEPS)
    assert result.exit_code == 1 and "initial weights" in result.output, result.output

    (run_dir / "stray.txt").write_text("left from an earlier run")
    _ok(invoke("pretrain-run", "bio", CONFIG, corpora["bio"], run_dir, "--init", out / "general", "--steps", "2"))
    assert not (run_dir / "stray.txt").exists()
    assert json.loads((run_dir / "run_info.json").read_text())["steps"] == 2
    assert sorted(p.name for p in (run_dir / "checkpoints").glob("checkpoint-*")) == ["checkpoint-2"]


def test_reachable_local_base_is_continued_without_a_general_run(corpora, tiny_hf_model_dir, tmp_path):
    from transformers import AutoTokenizer

    out = tmp_path / "out"
    output = _ok(invoke("pretrain", CONFIG, corpora["bio"], out, "--base", tiny_hf_model_dir, "--max-steps", "4"))
    assert "Falling back" not in output
    assert not (out / "tokenizer").exists() and not (out / "control").exists()
    assert not (out / "general" / "metrics.jsonl").exists()  # the base, saved, not trained
    assert json.loads((out / "general" / "run_info.json").read_text())["init"] == str(tiny_hf_model_dir)
    info = json.loads((out / "bio" / "run_info.json").read_text())
    assert info["steps"] == 4 and info["init"] == str(out / "general")
    assert set(json.loads((out / "report" / "comparison.json").read_text())["loss"]) == {"general", "bio"}
    # continual pretraining keeps the base's tokenizer
    base_vocab = AutoTokenizer.from_pretrained(tiny_hf_model_dir).get_vocab()
    assert AutoTokenizer.from_pretrained(out / "model").get_vocab() == base_vocab
    # the tokenizer step trains nothing when the base is reachable
    tok_dir = tmp_path / "tokenizer"
    _ok(invoke("pretrain-tokenizer", CONFIG, corpora["general"], tok_dir, "--base", tiny_hf_model_dir))
    assert json.loads((tok_dir / "tokenizer_info.json").read_text())["source"] == "base"
    assert AutoTokenizer.from_pretrained(tok_dir).get_vocab() == base_vocab


def test_clear_errors(corpora, tiny_hf_model_dir, tmp_path):
    bio, general = corpora["bio"], corpora["general"]
    cases = [
        (("pretrain", CONFIG, bio, tmp_path / "o", "--base", ""), "general corpus"),
        (("pretrain-run", "general", CONFIG, general, tmp_path / "g", "--init", UNREACHABLE), "--tokenizer"),
        (("pretrain-run", "bio", CONFIG, bio, tmp_path / "b"), "--init"),
        (("pretrain-run", "bio", CONFIG, bio, tmp_path / "b", "--init", tmp_path / "missing"), "unreachable"),
        (("pretrain-run", "bio", CONFIG, tmp_path, tmp_path / "b", "--init", tiny_hf_model_dir), "no dataset here"),
        (("pretrain-report", CONFIG, bio, tmp_path), "no finished run"),
    ]
    for args, message in cases:
        result = invoke(*args)
        assert result.exit_code == 1, (args, result.output)
        assert message in result.output and "Traceback" not in result.output, (args, result.output)
    # a missing corpus folder is a usage error naming it
    result = invoke("pretrain-tokenizer", CONFIG, tmp_path / "nowhere", tmp_path / "t")
    unwrapped = " ".join(re.sub(r"[│╭╮╰╯─]", " ", result.output).split())  # the usage box wraps long paths
    assert result.exit_code == 2 and "does not exist" in unwrapped
    # an output folder this stage did not write is never deleted
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    result = invoke("pretrain-tokenizer", CONFIG, general, foreign)
    assert result.exit_code == 1 and "refusing to delete" in result.output
    assert (foreign / "notes.txt").read_text() == "mine"


def test_report_without_control_and_a_comparison_without_model(split, corpora, tmp_path):
    """`all` compares general and bio (--no-control) and assembles model/; the `research` workflow's
    pretrain-compare adds the control in its own folder and leaves model/ alone (--no-model)."""
    out = split[0]
    for run in ("general", "bio", "control"):
        shutil.copytree(out / run, tmp_path / run)
    _ok(invoke("pretrain-report", CONFIG, corpora["bio"], tmp_path, "--general-corpus", corpora["general"], "--no-control"))
    assert set(json.loads((tmp_path / "report" / "comparison.json").read_text())["loss"]) == {"general", "bio"}
    model = _snapshot(tmp_path / "model")
    _ok(invoke("pretrain-report", CONFIG, corpora["bio"], tmp_path, "--general-corpus", corpora["general"],
               "--control", "--report-name", "report_control", "--no-model"))
    assert set(json.loads((tmp_path / "report_control" / "comparison.json").read_text())["loss"]) == set(RUNS)
    assert _snapshot(tmp_path / "model") == model and "| control |" in (tmp_path / "report_control" / "README.md").read_text()
