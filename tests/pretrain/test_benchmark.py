"""benchmark-pretrain: the three loops side by side; it writes only its own output folder."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

from typer.testing import CliRunner

from spacy_cbio.__main__ import make_app
from spacy_cbio.pretrain.config import load_profile

CONFIG = Path(__file__).resolve().parents[2] / "configs" / "pretrain" / "tiny.cfg"


def _snapshot(root: Path):
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*"))
            if p.is_file()}


def test_benchmark_writes_ratio_and_readme_and_leaves_the_model_alone(corpora, tiny_hf_model_dir, tmp_path):
    app = make_app(["benchmark-pretrain"])
    model_before = _snapshot(tiny_hf_model_dir)
    out = tmp_path / "benchmark"
    result = CliRunner().invoke(app, ["benchmark-pretrain", str(CONFIG), str(corpora["bio"]), str(out),
                                      "--model", str(tiny_hf_model_dir)])
    assert result.exit_code == 0, result.output
    assert "speed-up ours/plain" in result.output
    bench = json.loads((out / "benchmark.json").read_text())
    profile = load_profile(CONFIG)  # steps and rounds: the profile's [benchmark] block
    assert (bench["steps"], bench["rounds"]) == (profile.benchmark.steps, profile.benchmark.rounds)
    assert [len(values) for values in bench["all_tokens_per_s"].values()] == [profile.benchmark.rounds] * 3
    assert set(bench["runs"]) == {"plain", "packed_full_head", "ours"}
    # the two packed loops saw the same batches: only the head differs
    assert bench["runs"]["ours"]["tokens"] == bench["runs"]["packed_full_head"]["tokens"]
    assert bench["model"] == str(tiny_hf_model_dir)
    assert {p.name for p in out.iterdir()} == {"benchmark.json", "README.md"}
    readme = (out / "README.md").read_text()
    assert "Training loop benchmark" in readme and f"{bench['ratio']:.2f}x" in readme
    assert all(f"| {name} |" in readme for name in bench["runs"])
    assert _snapshot(tiny_hf_model_dir) == model_before  # --model is only read
