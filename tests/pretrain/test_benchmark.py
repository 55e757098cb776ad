"""benchmark-pretrain: the three loops side by side; it writes only its own output folder."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import typer
from typer.testing import CliRunner

from spacy_cbio.pretrain.cli import benchmark

CONFIG = Path(__file__).resolve().parents[2] / "configs" / "pretrain" / "tiny.cfg"


def _snapshot(root: Path):
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*"))
            if p.is_file()}


def test_benchmark_writes_ratio_and_readme_and_leaves_the_model_alone(corpora, tiny_hf_model_dir, tmp_path):
    app = typer.Typer()
    app.command("benchmark-pretrain")(benchmark)
    app.command("unused")(benchmark)  # two commands: the command name is required, as in the real CLI
    model_before = _snapshot(tiny_hf_model_dir)
    out = tmp_path / "benchmark"
    result = CliRunner().invoke(app, ["benchmark-pretrain", str(CONFIG), str(corpora["bio"]), str(out), "--steps", "3",
                                      "--rounds", "1", "--model", str(tiny_hf_model_dir)])
    assert result.exit_code == 0, result.output
    assert "speed-up ours/plain" in result.output
    bench = json.loads((out / "benchmark.json").read_text())
    assert set(bench["runs"]) == {"plain", "packed_full_head", "ours"}
    assert bench["ratio"] > 0 and bench["runs"]["ours"]["tokens"] > 0
    assert bench["ratio"] == bench["runs"]["ours"]["tokens_per_s"] / bench["runs"]["plain"]["tokens_per_s"]
    assert bench["model"] == str(tiny_hf_model_dir)
    assert {p.name for p in out.iterdir()} == {"benchmark.json", "README.md"}
    readme = (out / "README.md").read_text()
    assert "Training loop benchmark" in readme and f"{bench['ratio']:.2f}x" in readme
    assert _snapshot(tiny_hf_model_dir) == model_before  # --model is only read
