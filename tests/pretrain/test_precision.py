"""``[training] precision = "bf16"`` runs under autocast on CPU as on GPU; the bf16 vs fp32 benchmark."""
from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import typer
from datasets import Dataset
from safetensors.torch import load_file
from transformers import AutoTokenizer
from typer.testing import CliRunner

from spacy_cbio.pretrain.blocks import tokenize_and_pack
from spacy_cbio.pretrain.cli import benchmark
from spacy_cbio.pretrain.mlm import run_mlm
from spacy_cbio.pretrain.modeling import init_model
from spacy_cbio.pretrain.testing import TINY_PROFILE, sample_texts

CONFIG = Path(__file__).resolve().parents[2] / "configs" / "pretrain" / "tiny.cfg"


def _run(tiny_hf_model_dir, run_dir: Path, precision: str):
    tok = AutoTokenizer.from_pretrained(tiny_hf_model_dir)
    texts = sample_texts()
    train = tokenize_and_pack(Dataset.from_dict({"text": texts[:280]}), tok, 48, seed=0)
    valid = tokenize_and_pack(Dataset.from_dict({"text": texts[280:]}), tok, 48)
    model, tok = init_model(TINY_PROFILE, tok, seed=0)
    cfg = {"max_steps": 4, "save_steps": 4, "eval_steps": 4, "logging_steps": 2, "seq_len": 48, "batch_size": 4,
           "grad_accum": 2, "lr": 0.002, "num_threads": 1, "max_eval_blocks": 16, "precision": precision}
    return run_mlm("precision-test", model, tok, train, valid, cfg, run_dir)


def test_bf16_runs_under_autocast_on_cpu_and_matches_fp32(tiny_hf_model_dir, tmp_path):
    bf16 = _run(tiny_hf_model_dir, tmp_path / "bf16", "bf16")
    # fp32 after bf16 in the same process: not silently bf16 (ACCELERATE_MIXED_PRECISION is pinned)
    fp32 = _run(tiny_hf_model_dir, tmp_path / "fp32", "fp32")
    assert bf16["mixed_precision"] == "bf16" and fp32["mixed_precision"] == "no"
    assert math.isfinite(bf16["eval_loss_final"])
    # same steps, batches and masks: bf16 autocast changes the loss a little, not the result
    assert bf16["eval_loss_final"] == pytest.approx(fp32["eval_loss_final"], abs=0.05)
    assert bf16["eval_loss_final"] != fp32["eval_loss_final"]  # autocast really ran
    # weights stay fp32 (autocast, not a bf16 model): the saved model is fp32
    weights = load_file(tmp_path / "bf16" / "model.safetensors")
    assert {str(t.dtype) for t in weights.values()} == {"torch.float32"}
    assert json.loads((tmp_path / "bf16" / "run_info.json").read_text())["settings"]["precision"] == "bf16"


def test_benchmark_compares_bf16_and_fp32_side_by_side(corpora, tiny_hf_model_dir, tmp_path):
    app = typer.Typer()
    app.command("benchmark-pretrain")(benchmark)
    app.command("unused")(benchmark)
    out = tmp_path / "bench"
    result = CliRunner().invoke(app, ["benchmark-pretrain", str(CONFIG), str(corpora["bio"]), str(out),
                                      "--steps", "2", "--rounds", "1", "--model", str(tiny_hf_model_dir),
                                      "--compare-precision"])
    assert result.exit_code == 0, result.output
    assert "speed ratio bf16 / fp32" in result.output
    bench = json.loads((out / "benchmark.json").read_text())
    assert bench["mode"] == "precision" and set(bench["runs"]) == {"fp32", "bf16"}
    assert bench["runs"]["fp32"]["mixed_precision"] == "no" and bench["runs"]["bf16"]["mixed_precision"] == "bf16"
    assert bench["ratio"] == bench["runs"]["bf16"]["tokens_per_s"] / bench["runs"]["fp32"]["tokens_per_s"]
    assert bench["runs"]["bf16"]["tokens"] == bench["runs"]["fp32"]["tokens"]  # the same batches
    assert bench["eval_loss_diff"] == bench["runs"]["bf16"]["eval_loss"] - bench["runs"]["fp32"]["eval_loss"]
    assert {p.name for p in out.iterdir()} == {"benchmark.json", "README.md"}
    readme = (out / "README.md").read_text()
    assert "mixed precision" in readme and f"{bench['ratio']:.2f}x" in readme
