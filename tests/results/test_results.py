"""The results workflow: grid config, aggregation, table, gain, plot, and a real toy grid run."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import srsly
from typer.testing import CliRunner

from spacy_cbio.__main__ import app
from spacy_cbio.results.grid import load_grid, train_overrides
from spacy_cbio.results.report import aggregate, gain, markdown_table, write_report
from spacy_cbio.results.run import record_path
from spacy_cbio.train.testing import write_toy_corpus


def _record(model: str, dataset: str, seed: int, f: float, p: float = 0.5, r: float = 0.5) -> dict:
    return {"model": model, "dataset": dataset, "seed": seed, "steps": 10, "train_wall_s": 6.0,
            "config_hash": "abc", "dev": {"p": p, "r": r, "f": f}, "test": {"p": p, "r": r, "f": f}}


# Hand-made: bio beats general by 0.04 on e3c and 0.02 on emea (seeds 0 and 1).
RECORDS = [
    _record("bio", "e3c", 0, 0.50), _record("bio", "e3c", 1, 0.54),
    _record("general", "e3c", 0, 0.46), _record("general", "e3c", 1, 0.50),
    _record("bio", "emea", 0, 0.60), _record("bio", "emea", 1, 0.60),
    _record("general", "emea", 0, 0.60), _record("general", "emea", 1, 0.56),
    _record("cnn", "e3c", 0, 0.40),
]


def test_aggregate_mean_and_sample_std():
    table = aggregate(RECORDS)
    cell = table["e3c"]["bio"]["f"]
    assert cell["mean"] == pytest.approx(0.52)
    assert cell["std"] == pytest.approx(0.0282842712)  # sample std of 0.50, 0.54
    assert cell["n"] == 2
    assert table["e3c"]["cnn"]["f"] == {"mean": pytest.approx(0.40), "std": 0.0, "n": 1}
    assert table["e3c"]["bio"]["seeds"] == [0, 1]
    assert "cnn" not in table["emea"]


def test_gain_per_dataset_and_spread_over_seeds():
    result = gain(RECORDS, "bio", "general")
    assert result["datasets"] == ["e3c", "emea"]
    assert result["per_dataset"]["e3c"] == pytest.approx(0.04)
    assert result["per_dataset"]["emea"] == pytest.approx(0.02)
    assert result["mean"] == pytest.approx(0.03)
    # per seed: seed 0 = (0.04 + 0.00) / 2, seed 1 = (0.04 + 0.04) / 2
    assert result["per_seed"] == {0: pytest.approx(0.02), 1: pytest.approx(0.04)}
    assert result["std"] == pytest.approx(0.0141421356)
    assert gain(RECORDS, "cnn", "nothing") is None


def test_markdown_table_shape_and_bold_best():
    table = aggregate(RECORDS)
    text = markdown_table(table, ["bio", "general", "cnn"], ["e3c", "emea"])
    lines = text.strip().splitlines()
    assert len(lines) == 2 + 2 * 3  # header, rule, dataset × {F1, P, R}
    assert lines[0] == "| dataset | metric | bio | general | cnn |"
    f1_e3c = lines[2].split(" | ")
    assert f1_e3c[1] == "F1" and "**52.00 ± 2.83**" in lines[2] and "**" not in f1_e3c[3]
    assert f1_e3c[4] == "40.00 (1 seed) |"  # one run: no spread shown
    assert lines[5].endswith("| – |")  # no cnn run on emea
    assert lines[5].count("**") == 2
    # a tie on the best mean puts both in bold (P is 0.5 everywhere)
    assert lines[6].startswith("| emea | P |") and lines[6].count("**") == 4


def test_write_report_files(tmp_path):
    paths = write_report(RECORDS, tmp_path, models=["bio", "general", "cnn", "absent"], datasets=["e3c", "emea"],
                         target="bio", base="general", about={"profile": "tiny"})
    data = srsly.read_json(paths["json"])
    assert data["models"] == ["bio", "general", "cnn"]  # a model without runs is left out
    assert len(data["runs"]) == len(RECORDS)
    assert data["gain"]["mean"] == pytest.approx(0.03)
    text = paths["md"].read_text(encoding="utf8")
    assert "**+3.00 ± 1.41**" in text
    assert paths["png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match="no run records"):
        write_report([], tmp_path, models=["bio"], datasets=["e3c"])


def _grid_file(tmp_path: Path, transformer: Path) -> Path:
    corpus = tmp_path / "corpus"
    write_toy_corpus(corpus / "toy")
    grid = tmp_path / "grid.cfg"
    grid.write_text(f"""
[results]
profile = "tiny"
seeds = [0, 1]
datasets = ["toy"]
corpus = "{corpus.as_posix()}"
target = "trf"
base = "cnn"

[models]

[models.trf]
recipe = "transformer"
features = "transformer"
transformer = "{transformer.as_posix()}"

[models.cnn]
recipe = "cnn"
vectors = null

[models.cnn.overrides]
training.max_steps = 4
training.eval_frequency = 2
""", encoding="utf8")
    return grid


def test_load_grid_errors(tmp_path, tiny_hf_model_dir):
    grid = load_grid(_grid_file(tmp_path, tiny_hf_model_dir))
    assert [run.key for run in grid.runs()] == ["trf/toy/seed0", "cnn/toy/seed0", "trf/toy/seed1", "cnn/toy/seed1"]
    overrides = train_overrides(grid, grid.runs(["cnn"])[0])
    assert overrides["training.max_steps"] == 4 and overrides["paths.vectors"] is None
    assert "paths.transformer" not in overrides
    with pytest.raises(ValueError, match="unknown model"):
        grid.runs(["nope"])
    bad = tmp_path / "bad.cfg"
    bad.write_text("[results]\ndatasets = [\"toy\"]\n\n[models]\n\n[models.x]\nrecipe = \"rnn\"\n", encoding="utf8")
    with pytest.raises(ValueError, match="recipe must be one of"):
        load_grid(bad)
    with pytest.raises(FileNotFoundError):
        load_grid(tmp_path / "missing.cfg")


def test_results_run_and_report_on_toy_grid(tmp_path, tiny_hf_model_dir):
    """Real training runs (tiny transformer, CNN baseline for 4 steps), then resume and report."""
    grid = _grid_file(tmp_path, tiny_hf_model_dir)
    out = tmp_path / "runs"
    runner = CliRunner()
    result = runner.invoke(app, ["results-run", str(grid), str(out), "--seeds", "0", "--threads", "1"])
    assert result.exit_code == 0, result.output
    records = sorted(out.glob("runs/*/toy/seed0.json"))
    assert [p.parent.parent.name for p in records] == ["cnn", "trf"]
    record = srsly.read_json(records[0])
    assert record["recipe"] == "cnn" and record["steps"] == 4 and 0.0 <= record["test"]["f"] <= 1.0
    assert record["versions"]["spacy"] and len(record["config_hash"]) == 16
    assert not (out / "models" / "cnn" / "toy" / "seed0").exists()  # models removed by default
    # second call: nothing retrained
    again = runner.invoke(app, ["results-run", str(grid), str(out), "--seeds", "0"])
    assert again.exit_code == 0, again.output
    assert again.output.count("skipped") == 2
    # a changed model config reruns that model only
    text = grid.read_text(encoding="utf8").replace("training.max_steps = 4", "training.max_steps = 2")
    grid.write_text(text, encoding="utf8")
    third = runner.invoke(app, ["results-run", str(grid), str(out), "--seeds", "0", "--model", "cnn", "--model", "trf"])
    assert third.exit_code == 0, third.output
    assert "cnn/toy/seed0: config changed" in third.output and third.output.count("skipped") == 1
    assert srsly.read_json(record_path(out, load_grid(grid).runs(["cnn"])[0]))["steps"] == 2
    report = runner.invoke(app, ["results-report", str(grid), str(out), "--seeds", "0", "-o", str(tmp_path / "rep")])
    assert report.exit_code == 0, report.output
    assert {p.name for p in (tmp_path / "rep").iterdir()} == {"results.json", "RESULTS.md", "results.png"}
    assert "| toy | F1 |" in (tmp_path / "rep" / "RESULTS.md").read_text(encoding="utf8")


def test_results_run_reports_failed_runs(tmp_path, tiny_hf_model_dir):
    grid = _grid_file(tmp_path, tiny_hf_model_dir)
    grid.write_text(grid.read_text(encoding="utf8").replace('datasets = ["toy"]', 'datasets = ["toy", "absent"]'),
                    encoding="utf8")
    out = tmp_path / "runs"
    result = CliRunner().invoke(app, ["results-run", str(grid), str(out), "--seeds", "0", "--model", "cnn"])
    assert result.exit_code == 1
    assert "cnn/absent/seed0: FAILED" in result.output and "1 of 2 runs done, 1 failed" in result.output
    assert "cnn/absent/seed0" in (out / "failed.json").read_text(encoding="utf8")


@pytest.mark.parametrize("profile", ["tiny", "small", "paper"])
def test_shipped_grids_name_project_outputs(repo_root, profile):
    """Each shipped grid loads, names known datasets, and reads what `all` produces for its profile."""
    from spacy_cbio.data.datasets import DATASETS

    grid = load_grid(repo_root / "configs" / "results" / f"{profile}.cfg")
    assert grid.profile == profile and len(grid.seeds) >= (2 if profile == "tiny" else 3)
    assert set(grid.datasets) <= set(DATASETS)
    assert grid.target in grid.models and grid.base in grid.models
    for spec in grid.models.values():
        if spec.recipe == "transformer":
            assert spec.transformer.startswith(f"training/pretrain/{profile}/")
        if spec.vectors and spec.vectors.startswith("training/"):
            assert spec.vectors.startswith(f"training/vectors/{profile}/")
        assert spec.recipe in ("transformer", "cnn")
    assert "results-run configs/results/${vars.profile}.cfg" in (repo_root / "project.yml").read_text(encoding="utf8")


def test_results_run_parallel_jobs_match_sequential(tmp_path, tiny_hf_model_dir):
    """--jobs 2 trains runs in separate processes: same records as one at a time, failures reported."""
    grid = _grid_file(tmp_path, tiny_hf_model_dir)
    runner = CliRunner()
    sequential = runner.invoke(app, ["results-run", str(grid), str(tmp_path / "seq"), "--model", "cnn"])
    assert sequential.exit_code == 0, sequential.output
    grid.write_text(grid.read_text(encoding="utf8").replace('datasets = ["toy"]', 'datasets = ["toy", "absent"]'),
                    encoding="utf8")
    parallel = runner.invoke(app, ["results-run", str(grid), str(tmp_path / "par"), "--model", "cnn", "--jobs", "2"])
    assert parallel.exit_code == 1, parallel.output
    assert re.search(r"2 runs at a time, \d+ torch thread\(s\) each", parallel.output)
    assert "cnn/absent/seed0: FAILED" in parallel.output and "2 of 4 runs done, 2 failed" in parallel.output
    for seed in (0, 1):
        a = srsly.read_json(tmp_path / "seq" / "runs" / "cnn" / "toy" / f"seed{seed}.json")
        b = srsly.read_json(tmp_path / "par" / "runs" / "cnn" / "toy" / f"seed{seed}.json")
        assert (a["seed"], a["config_hash"], a["test"], a["dev"]) == (b["seed"], b["config_hash"], b["test"], b["dev"])


def test_job_threads_share_the_cores(monkeypatch):
    from spacy_cbio.results.run import job_threads

    monkeypatch.setattr("os.cpu_count", lambda: 8)
    assert job_threads(1, 0) == 0 and job_threads(2, 0) == 4 and job_threads(3, 0) == 2
    assert job_threads(16, 0) == 1 and job_threads(2, 3) == 3


def _processes_naming(text: str) -> list:
    import psutil

    found = []
    for process in psutil.process_iter(["cmdline"]):
        try:
            if any(text in part for part in process.info["cmdline"] or []):
                found.append(process.pid)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return found


def test_killed_parallel_run_leaves_no_training_behind(tmp_path, tiny_hf_model_dir):
    """SIGKILL of results-run --jobs 2: its job processes and their trainings stop too (they
    noticed the parent is gone), instead of going on with the queued runs."""
    import signal
    import subprocess
    import sys
    import time

    grid = _grid_file(tmp_path, tiny_hf_model_dir)
    grid.write_text(grid.read_text(encoding="utf8").replace("training.max_steps = 4", "training.max_steps = 100000"),
                    encoding="utf8")
    out = tmp_path / "killed-runs"
    parent = subprocess.Popen([sys.executable, "-m", "spacy_cbio", "results-run", str(grid), str(out), "--model", "cnn",
                               "--jobs", "2"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    logs = [out / "models" / "cnn" / "toy" / f"seed{seed}" / "train.log" for seed in (0, 1)]
    deadline = time.monotonic() + 120
    while not all(log.is_file() for log in logs) and time.monotonic() < deadline and parent.poll() is None:
        time.sleep(0.5)
    assert all(log.is_file() for log in logs), "both trainings should have started"
    assert len(_processes_naming(str(out))) >= 3  # results-run and two trainings
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    deadline = time.monotonic() + 60
    while _processes_naming(str(out)) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert _processes_naming(str(out)) == []
    assert not list(out.glob("runs/*/*/*.json"))  # nothing finished, nothing half-written


def test_n_seeds_runs_a_model_on_the_first_seeds_only(tmp_path, tiny_hf_model_dir):
    grid_file = _grid_file(tmp_path, tiny_hf_model_dir)
    text = grid_file.read_text(encoding="utf8").replace('recipe = "cnn"\n', 'recipe = "cnn"\nn_seeds = 1\n')
    grid_file.write_text(text, encoding="utf8")
    grid = load_grid(grid_file)
    assert [run.key for run in grid.runs()] == ["trf/toy/seed0", "cnn/toy/seed0", "trf/toy/seed1"]
    assert [run.key for run in load_grid(grid_file, {"results.seeds": [5, 6]}).runs(["cnn"])] == ["cnn/toy/seed5"]
    grid_file.write_text(text.replace("n_seeds = 1", "n_seeds = 0"), encoding="utf8")
    with pytest.raises(ValueError, match="n_seeds must be a positive integer"):
        load_grid(grid_file)


def test_model_datasets_restrict_a_model_to_some_datasets(tmp_path, tiny_hf_model_dir):
    grid_file = _grid_file(tmp_path, tiny_hf_model_dir)
    text = grid_file.read_text(encoding="utf8").replace('datasets = ["toy"]', 'datasets = ["toy", "other"]')
    grid_file.write_text(text.replace('recipe = "cnn"\n', 'recipe = "cnn"\ndatasets = ["toy"]\n'), encoding="utf8")
    grid = load_grid(grid_file)
    assert [run.key for run in grid.runs(["cnn"])] == ["cnn/toy/seed0", "cnn/toy/seed1"]
    assert [run.key for run in grid.runs(["trf"])] == ["trf/toy/seed0", "trf/other/seed0",
                                                       "trf/toy/seed1", "trf/other/seed1"]
    # --datasets narrows the grid; a model's own list still names the file's datasets
    assert [run.key for run in load_grid(grid_file, {"results.datasets": ["other"]}).runs()] == \
        ["trf/other/seed0", "trf/other/seed1"]
    grid_file.write_text(text.replace('recipe = "cnn"\n', 'recipe = "cnn"\ndatasets = ["toy", "nope"]\n'),
                         encoding="utf8")
    with pytest.raises(ValueError, match=r"datasets \['nope'\] are not in"):
        load_grid(grid_file)
    grid_file.write_text(text.replace('recipe = "cnn"\n', 'recipe = "cnn"\ndatasets = "toy"\n'), encoding="utf8")
    with pytest.raises(ValueError, match="non-empty list"):
        load_grid(grid_file)
