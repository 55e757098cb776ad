"""The results workflow: choose on dev (selection seeds), report on test (report seeds), paired
tests, effects, provenance keys, and a real toy grid run."""
from __future__ import annotations

from pathlib import Path

import pytest
import srsly
from typer.testing import CliRunner

from spacy_cbio.__main__ import app
from spacy_cbio.results.grid import GridError, load_grid, train_overrides
from spacy_cbio.results.provenance import content_hash, input_hash, run_key
from spacy_cbio.results.report import (ProtocolError, build_report, check_protocol, paired_stats, seed_table,
                                       write_report)
from spacy_cbio.train.testing import write_toy_corpus

GRID_HEAD = """
[results]
profile = "tiny"
selection_seeds = [0, 1]
report_seeds = [2, 3]
datasets = ["e3c", "emea"]
"""

FACTORIAL_GRID = GRID_HEAD + """
[models]

[models.bb]
transformer = "bio-model"
[models.bb.factors]
transformer = "bio"
vectors = "bio"

[models.gb]
transformer = "general-model"
[models.gb.factors]
transformer = "general"
vectors = "bio"

[models.bg]
transformer = "bio-model"
[models.bg.factors]
transformer = "bio"
vectors = "general"

[models.gg]
transformer = "general-model"
[models.gg.factors]
transformer = "general"
vectors = "general"

[models.cnn]
recipe = "cnn"
phases = ["report"]

[decisions]

[decisions.default]
candidates = ["bb", "gg"]
chosen = "gg"
setting = "the transformer and the vectors"

[comparisons]

[comparisons.bb_vs_cnn]
target = "bb"
base = "cnn"

[effects]

[effects.pretraining]
factor = "transformer"
target = "bio"
base = "general"

[effects.vectors]
factor = "vectors"
target = "bio"
base = "general"

[effects.interaction]
factor = "transformer"
target = "bio"
base = "general"
within = "vectors"
within_target = "bio"
within_base = "general"
"""


def _grid(tmp_path: Path, text: str = FACTORIAL_GRID):
    path = tmp_path / "grid.cfg"
    path.write_text(text, encoding="utf8")
    return load_grid(path)


def _record(model: str, dataset: str, seed: int, f: float, *, test: bool = True) -> dict:
    scores = {"p": 0.5, "r": 0.5, "f": f}
    record = {"model": model, "dataset": dataset, "seed": seed, "steps": 10, "train_wall_s": 6.0,
              "key": "k", "phase": "report" if test else "select", "dev": dict(scores)}
    if test:
        record["test"] = dict(scores)
    return record


# F1 = 0.40 + 0.04 (bio transformer) + 0.02 (bio vectors) + 0.01 (both bio: interaction) + 0.001 * seed
def _factorial_records():
    records = []
    for model, (t, v) in {"bb": (1, 1), "gb": (0, 1), "bg": (1, 0), "gg": (0, 0)}.items():
        for dataset in ("e3c", "emea"):
            for seed in (2, 3):
                records.append(_record(model, dataset, seed, 0.40 + 0.04 * t + 0.02 * v + 0.01 * t * v + 0.001 * seed))
            for seed in (0, 1):  # selection: dev only; gg best on e3c, bb best on average
                dev = {"bb": 0.60, "gg": 0.55}.get(model, 0.5) + (0.05 if model == "gg" and dataset == "e3c" else 0)
                records.append(_record(model, dataset, seed, dev, test=False))
    records += [_record("cnn", d, s, 0.45) for d in ("e3c", "emea") for s in (2, 3)]
    return records


def test_effects_hold_the_other_factor_fixed(tmp_path):
    grid = _grid(tmp_path)
    report = build_report(_factorial_records(), grid)
    pretraining = report["effects"]["pretraining"]
    # bio − general transformer: 0.04 with general vectors, 0.05 with bio vectors; 2 datasets × 2 seeds each
    assert pretraining["n"] == 8
    assert pretraining["mean"] == pytest.approx(0.045)
    assert sorted(set(round(d, 6) for d in pretraining["differences"])) == [0.04, 0.05]
    assert pretraining["distinguishable"] and pretraining["wins"] == 8
    assert report["effects"]["vectors"]["mean"] == pytest.approx(0.025)
    interaction = report["effects"]["interaction"]
    assert interaction["n"] == 4 and interaction["mean"] == pytest.approx(0.01)
    comparison = report["comparisons"]["bb_vs_cnn"]
    assert comparison["n"] == 4 and comparison["mean"] == pytest.approx(0.4 + 0.07 + 0.0025 - 0.45)


def test_selection_reads_dev_of_selection_seeds_only(tmp_path):
    grid = _grid(tmp_path)
    choice = build_report(_factorial_records(), grid)["selection"]["default"]
    assert choice["split"] == "dev" and choice["seeds"] == [0, 1]
    assert choice["candidates"]["bb"]["mean"] == pytest.approx(0.60)
    assert choice["candidates"]["gg"]["per_dataset"] == {"e3c": pytest.approx(0.60), "emea": pytest.approx(0.55)}
    assert choice["winner"] == "bb" and choice["in_use"] == "gg" and choice["in_use_is_winner"] is False
    # the report-seed dev scores (0.4x) play no part: a candidate's n_seeds counts selection seeds
    assert choice["candidates"]["bb"]["n_seeds"] == {"e3c": 2, "emea": 2}


def test_report_refuses_test_scores_of_selection_runs(tmp_path):
    grid = _grid(tmp_path)
    records = _factorial_records()
    records.append(_record("bb", "e3c", 0, 0.9, test=True) | {"phase": "select"})
    with pytest.raises(ProtocolError, match=r"bb/e3c/seed0: a selection run holds test scores"):
        check_protocol(records, grid)
    with pytest.raises(ProtocolError):
        write_report(records, grid, tmp_path / "out")
    assert not (tmp_path / "out" / "results.json").exists()
    unknown_seed = _factorial_records() + [_record("bb", "e3c", 7, 0.5)]
    with pytest.raises(ProtocolError, match="neither a selection seed"):
        check_protocol(unknown_seed, grid)


def test_results_report_cli_refuses_selection_test_scores(tmp_path):
    grid_file = tmp_path / "grid.cfg"
    grid_file.write_text(FACTORIAL_GRID, encoding="utf8")
    runs = tmp_path / "runs"
    for record in _factorial_records() + [_record("gg", "emea", 1, 0.7, test=True) | {"phase": "select"}]:
        path = runs / "runs" / record["model"] / record["dataset"] / f"seed{record['seed']}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        srsly.write_json(path, record)
    result = CliRunner().invoke(app, ["results-report", str(grid_file), str(runs), "-o", str(tmp_path / "rep")])
    assert result.exit_code == 2
    assert "gg/emea/seed1: a selection run holds test scores" in result.output
    assert not (tmp_path / "rep").exists()


def test_paired_stats():
    stats = paired_stats([0.01, 0.02, 0.03, 0.02, 0.01, 0.04])
    assert stats["mean"] == pytest.approx(0.0216666667) and stats["n"] == 6
    assert stats["ci95"][0] > 0 and stats["ci95"][0] <= stats["mean"] <= stats["ci95"][1]
    assert stats["sign_test_p"] == pytest.approx(2 / 64) and stats["distinguishable"]
    noisy = paired_stats([0.02, -0.03, 0.01, -0.01, 0.0])
    assert noisy["ci95"][0] < 0 < noisy["ci95"][1] and not noisy["distinguishable"]
    assert (noisy["wins"], noisy["losses"], noisy["ties"]) == (2, 2, 1)
    assert paired_stats([0.01, 0.02, 0.03]) == paired_stats([0.01, 0.02, 0.03])  # seeded bootstrap
    with pytest.raises(ValueError):
        paired_stats([])


def test_seed_table_mean_and_sample_std():
    records = [_record("bio", "e3c", 2, 0.50), _record("bio", "e3c", 3, 0.54), _record("bio", "e3c", 0, 0.9, test=False)]
    cell = seed_table(records)["e3c"]["bio"]
    assert cell["f"]["mean"] == pytest.approx(0.52) and cell["f"]["n"] == 2  # the dev-only run has no test
    assert cell["f"]["std"] == pytest.approx(0.0282842712)
    assert cell["seeds"] == [2, 3] and cell["per_seed_f"] == {"2": 0.50, "3": 0.54}
    assert seed_table(records, "dev")["e3c"]["bio"]["f"]["n"] == 3


def test_write_report_files(tmp_path):
    grid = _grid(tmp_path)
    paths = write_report(_factorial_records(), grid, tmp_path / "out", about={"profile": "tiny"})
    data = srsly.read_json(paths["json"])
    assert data["protocol"]["selection_seeds"] == [0, 1] and data["protocol"]["report_seeds"] == [2, 3]
    assert data["reported_models"] == ["bb", "gb", "bg", "gg", "cnn"]
    assert len(data["runs"]) == len(_factorial_records())
    assert set(data["test"]["e3c"]["bb"]["per_seed_f"]) == {"2", "3"}
    text = paths["md"].read_text(encoding="utf8")
    assert "## Paired differences (test, report seeds)" in text and "| interaction |" in text
    assert "Winner on dev: **bb**. In use: gg (NOT the dev winner)." in text
    # selection seeds appear in no test table
    assert all(set(cell["per_seed_f"]) <= {"2", "3"} for row in data["test"].values() for cell in row.values())
    assert paths["png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "| bb | select | e3c, emea | 0, 1 | 4/4 |" in text
    # before any run: the planned runs, nothing else
    empty = write_report([], grid, tmp_path / "x")
    assert "0 of 36 runs done." in empty["md"].read_text(encoding="utf8")
    assert srsly.read_json(empty["json"])["runs"] == []


@pytest.mark.parametrize("text, message", [
    (GRID_HEAD.replace("report_seeds = [2, 3]", "report_seeds = [1, 3]") + "[models]\n[models.a]\ntransformer = \"x\"\n",
     r"disjoint: both have \[1\]"),
    (GRID_HEAD + "[models]\n[models.a]\ntransformer = \"x\"\nwidth = 3\n", r"\[models.a\] width: unknown key"),
    (GRID_HEAD + "[models]\n[models.a]\ntransformer = \"x\"\nn_seeds = \"two\"\n", r"\[models.a\] n_seeds: .*integer"),
    (GRID_HEAD + "[models]\n[models.a]\nrecipe = \"rnn\"\n", r"\[models.a\] recipe: .*must be one of"),
    (GRID_HEAD + "[models]\n[models.a]\nrecipe = \"cnn\"\nphases = [\"report\"]\n[models.b]\nrecipe = \"cnn\"\n"
     "[decisions]\n[decisions.d]\ncandidates = [\"a\", \"b\"]\n", r"\[decisions.d\] 'a' does not run on the selection seeds"),
    (GRID_HEAD + "[models]\n[models.a]\nrecipe = \"cnn\"\n[comparisons]\n[comparisons.c]\ntarget = \"a\"\nbase = \"zz\"\n",
     r"\[comparisons.c\] base 'zz' is not a model"),
    (GRID_HEAD + "[models]\n[models.a]\nrecipe = \"cnn\"\n[extras]\nx = 1\n", r"unknown block\(s\) \['extras'\]"),
    (GRID_HEAD + "[models]\n[models.a]\nrecipe = \"cnn\"\ndatasets = [\"nope\"]\n", r"datasets: \['nope'\] are not in"),
])
def test_load_grid_errors_name_file_block_and_key(tmp_path, text, message):
    path = tmp_path / "bad.cfg"
    path.write_text(text, encoding="utf8")
    with pytest.raises(GridError, match=message) as info:
        load_grid(path)
    assert str(path) in str(info.value)


def test_grid_runs_phases_and_splits(tmp_path):
    grid = _grid(tmp_path)
    runs = grid.runs(["bb", "cnn"])
    assert [r.key for r in runs if r.phase == "select"] == [
        "bb/e3c/seed0", "bb/emea/seed0", "bb/e3c/seed1", "bb/emea/seed1"]
    assert {r.key for r in runs if r.model.name == "cnn"} == {f"cnn/{d}/seed{s}" for d in ("e3c", "emea") for s in (2, 3)}
    assert all(r.splits == ("dev",) for r in runs if r.phase == "select")
    assert all(r.splits == ("dev", "test") for r in runs if r.phase == "report")
    assert [r.key for r in grid.runs(["bb"], phases=["report"])][:1] == ["bb/e3c/seed2"]
    with pytest.raises(ValueError, match="unknown model"):
        grid.runs(["nope"])


def test_content_hash_follows_contents(tmp_path):
    folder = tmp_path / "vectors"
    folder.mkdir()
    (folder / "a.bin").write_bytes(b"one")
    first = content_hash(folder)
    assert content_hash(folder) == first
    (folder / "a.bin").write_bytes(b"two")
    assert content_hash(folder) != first  # same path, new contents
    second = content_hash(folder)
    for name in ("README.md", "run_info.json", "metrics.jsonl"):  # a rerun's card and records: not the weights
        (folder / name).write_text(f"wall time {name}")
    assert content_hash(folder) == second
    assert input_hash("pytest").startswith("package:pytest==")
    assert input_hash(None) is None
    with pytest.raises(FileNotFoundError):
        input_hash(str(tmp_path / "missing"))
    assert run_key("c", {"a": "1"}) != run_key("c", {"a": "2"})


def _toy_grid_file(tmp_path: Path, transformer: Path) -> Path:
    corpus = tmp_path / "corpus"
    write_toy_corpus(corpus / "toy")
    write_toy_corpus(corpus / "other", n_repeats=1)
    grid = tmp_path / "grid.cfg"
    grid.write_text(f"""
[results]
profile = "tiny"
selection_seeds = [0]
report_seeds = [1]
datasets = ["toy"]
corpus = "{corpus.as_posix()}"

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

[decisions]

[decisions.features]
candidates = ["trf", "cnn"]
chosen = "trf"

[comparisons]

[comparisons.trf_vs_cnn]
target = "trf"
base = "cnn"
""", encoding="utf8")
    return grid


def test_results_run_and_report_on_toy_grid(tmp_path, tiny_hf_model_dir):
    """Real training runs (tiny transformer, CNN for 4 steps): selection runs are never scored on
    test, reruns reuse records by content key, changed inputs rerun, and the report is written."""
    grid = _toy_grid_file(tmp_path, tiny_hf_model_dir)
    out = tmp_path / "runs"
    runner = CliRunner()
    result = runner.invoke(app, ["results-run", str(grid), str(out), "--threads", "1"])
    assert result.exit_code == 0, result.output
    assert "4 of 4 runs done, 0 failed" in result.output
    selection = srsly.read_json(out / "runs" / "cnn" / "toy" / "seed0.json")
    report = srsly.read_json(out / "runs" / "cnn" / "toy" / "seed1.json")
    assert selection["phase"] == "select" and "test" not in selection and 0.0 <= selection["dev"]["f"] <= 1.0
    assert report["phase"] == "report" and 0.0 <= report["test"]["f"] <= 1.0
    assert report["steps"] == 4 and report["versions"]["spacy"] and report["hardware"]["cpu_cores"]
    trf_report = srsly.read_json(out / "runs" / "trf" / "toy" / "seed1.json")
    # train fits the token head's temperature on dev (1 when too few entities); the CNN has none
    assert report["temperature"] is None and trf_report["temperature"] > 0
    for split in ("dev", "test"):  # the entity scores' ECE (None: the CNN's ner gives no span._.score)
        assert report[split]["ece"] is None
        assert trf_report[split]["ece"] is None or 0.0 <= trf_report[split]["ece"] <= 1.0
    assert set(report["inputs"]) == {"train.spacy", "dev.spacy", "test.spacy", "vectors", "transformer", "tuned"}
    assert report["inputs"]["dev.spacy"] == content_hash(tmp_path / "corpus" / "toy" / "dev.spacy")
    trf = srsly.read_json(out / "runs" / "trf" / "toy" / "seed1.json")
    assert trf["inputs"]["transformer"] == content_hash(tiny_hf_model_dir)
    assert not (out / "models" / "cnn" / "toy" / "seed0").exists()  # models removed by default
    # --jobs 2 trains runs in separate processes: the same records as one at a time, and a failed
    # run (a dataset with no corpus) is reported without stopping the others
    with_absent = tmp_path / "grid_absent.cfg"
    with_absent.write_text(grid.read_text(encoding="utf8").replace('datasets = ["toy"]', 'datasets = ["toy", "absent"]'),
                           encoding="utf8")
    # (report seed only: one real training beside one failing run is enough for two jobs at once)
    parallel = runner.invoke(app, ["results-run", str(with_absent), str(tmp_path / "par"), "--model", "cnn",
                                   "--jobs", "2", "--phase", "report"])
    assert parallel.exit_code == 1, parallel.output
    assert "cnn/absent/seed1: FAILED" in parallel.output and "1 of 2 runs done, 1 failed" in parallel.output
    assert "cnn/absent/seed1" in (tmp_path / "par" / "failed.json").read_text(encoding="utf8")
    for seed in (1,):
        a = srsly.read_json(out / "runs" / "cnn" / "toy" / f"seed{seed}.json")
        b = srsly.read_json(tmp_path / "par" / "runs" / "cnn" / "toy" / f"seed{seed}.json")
        assert (a["seed"], a["key"], a.get("test"), a["dev"]) == (b["seed"], b["key"], b.get("test"), b["dev"])
    # nothing changed: nothing retrained
    again = runner.invoke(app, ["results-run", str(grid), str(out), "--model", "cnn"])
    assert again.exit_code == 0, again.output
    assert srsly.read_json(out / "runs" / "cnn" / "toy" / "seed1.json")["finished"] == report["finished"]
    # new contents at the same path (the dev set): the CNN's runs rerun
    from spacy.tokens import DocBin
    from spacy_cbio.train.testing import toy_docs

    DocBin(docs=toy_docs(1), store_user_data=True).to_disk(tmp_path / "corpus" / "toy" / "dev.spacy")
    third = runner.invoke(app, ["results-run", str(grid), str(out), "--model", "cnn", "--phase", "report"])
    assert third.exit_code == 0, third.output
    rerun = srsly.read_json(out / "runs" / "cnn" / "toy" / "seed1.json")
    assert rerun["key"] != report["key"] and rerun["inputs"]["dev.spacy"] != report["inputs"]["dev.spacy"]
    # the report: committed-folder files, the selection's verdict, and a rerun compares equal to itself
    rep = tmp_path / "rep"
    done = runner.invoke(app, ["results-report", str(grid), str(out), "-o", str(rep)])
    assert done.exit_code == 0, done.output
    assert {p.name for p in rep.iterdir()} == {"results.json", "RESULTS.md", "results.png"}
    data = srsly.read_json(rep / "results.json")
    assert data["selection"]["features"]["seeds"] == [0] and data["comparisons"]["trf_vs_cnn"]["n"] == 1
    assert all("test" not in r for r in data["runs"] if r["seed"] == 0)
    assert "| toy | F1 |" in (rep / "RESULTS.md").read_text(encoding="utf8")
    same = runner.invoke(app, ["results-compare", str(rep / "results.json"), str(rep / "results.json")])
    assert same.exit_code == 0 and "4 runs equal, 0 differ" in same.output
    changed = srsly.read_json(rep / "results.json")
    changed["runs"][0]["dev"]["f"] += 0.01
    srsly.write_json(tmp_path / "changed.json", changed)
    differ = runner.invoke(app, ["results-compare", str(rep / "results.json"), str(tmp_path / "changed.json")])
    assert differ.exit_code == 1 and "1 differ" in differ.output
    # another machine goes on from the committed report: the CNN's report run was trained on the
    # new dev set, so its key matches and it is taken from the report (the other runs predate the
    # new dev set and would train again)
    fresh = tmp_path / "fresh"
    reused = runner.invoke(app, ["results-run", str(grid), str(fresh), "--reuse", str(rep / "results.json"),
                                 "--phase", "report", "--model", "cnn"])
    assert reused.exit_code == 0, reused.output
    assert not (fresh / "models").exists()  # no training started
    assert srsly.read_json(fresh / "runs" / "cnn" / "toy" / "seed1.json") == rerun


def test_train_on_merges_training_sets(tmp_path, tiny_hf_model_dir):
    from spacy.tokens import DocBin

    from spacy_cbio.results.run import merged_train_data

    grid_file = _toy_grid_file(tmp_path, tiny_hf_model_dir)
    text = grid_file.read_text(encoding="utf8").replace('datasets = ["toy"]', 'datasets = ["toy", "other"]')
    text = text.replace('recipe = "cnn"\nvectors = null', 'recipe = "cnn"\nvectors = null\ntrain_on = ["toy", "other"]')
    grid_file.write_text(text, encoding="utf8")
    grid = load_grid(grid_file)
    run = grid.runs(["cnn"])[0]
    merged = merged_train_data(grid, run, tmp_path / "out")
    sizes = [len(DocBin().from_disk(tmp_path / "corpus" / d / "train.spacy")) for d in ("toy", "other")]
    assert len(DocBin().from_disk(merged)) == sum(sizes)
    overrides = train_overrides(grid, run, train_data=merged)
    assert overrides["paths.train"] == str(merged)
    assert overrides["paths.dev"].endswith(f"{run.dataset}/dev.spacy")  # best checkpoint on its own dev
    assert merged_train_data(grid, grid.runs(["trf"])[0], tmp_path / "out") is None


def test_tuned_record_values_apply(tmp_path, tiny_hf_model_dir):
    grid_file = _toy_grid_file(tmp_path, tiny_hf_model_dir)
    tuned = tmp_path / "cnn_tuned.json"
    srsly.write_json(tuned, {"best_values": {"training.dropout": 0.3}, "chosen_on": {"split": "dev"}})
    text = grid_file.read_text(encoding="utf8").replace(
        'recipe = "cnn"\nvectors = null', f'recipe = "cnn"\nvectors = null\ntuned = "{tuned.as_posix()}"')
    grid_file.write_text(text, encoding="utf8")
    grid = load_grid(grid_file)
    overrides = train_overrides(grid, grid.runs(["cnn"])[0])
    assert overrides["training.dropout"] == pytest.approx(0.3) and overrides["training.max_steps"] == 4
    tuned.unlink()
    with pytest.raises(FileNotFoundError, match="no such tune record"):
        train_overrides(grid, grid.runs(["cnn"])[0])


def test_results_run_reports_failed_runs(tmp_path, tiny_hf_model_dir):
    """One at a time, a failed run is reported and recorded (with --jobs 2: the toy grid test)."""
    grid = _toy_grid_file(tmp_path, tiny_hf_model_dir)
    grid.write_text(grid.read_text(encoding="utf8").replace('datasets = ["toy"]', 'datasets = ["absent"]'),
                    encoding="utf8")
    out = tmp_path / "runs"
    result = CliRunner().invoke(app, ["results-run", str(grid), str(out), "--phase", "select", "--model", "cnn"])
    assert result.exit_code == 1
    assert "cnn/absent/seed0: FAILED" in result.output and "0 of 1 runs done, 1 failed" in result.output
    assert "cnn/absent/seed0" in (out / "failed.json").read_text(encoding="utf8")


@pytest.mark.parametrize("profile", ["tiny", "small", "paper"])
def test_shipped_grids_follow_the_protocol(repo_root, profile):
    """Each shipped grid loads, keeps selection and report seeds apart, names known datasets,
    and reads what `all` produces for its profile."""
    from spacy_cbio.data.datasets import DATASETS

    grid = load_grid(repo_root / "configs" / "results" / f"{profile}.cfg")
    assert grid.profile == profile and not set(grid.selection_seeds) & set(grid.report_seeds)
    if profile == "small":
        assert grid.selection_seeds == [0, 1, 2] and grid.report_seeds == [3, 4, 5]
    if profile == "paper":
        assert len(grid.selection_seeds) == 3 and len(grid.report_seeds) == 10
    assert set(grid.datasets) <= set(DATASETS)
    for spec in grid.models.values():
        if spec.recipe == "transformer":
            assert spec.transformer.startswith(f"training/pretrain/{profile}/")
        if spec.vectors and spec.vectors.startswith("training/"):
            assert spec.vectors.startswith(f"training/vectors/{profile}/")
        if spec.tuned:
            assert (repo_root / spec.tuned).is_file(), spec.tuned
    assert "results-run configs/results/${vars.profile}.cfg" in (repo_root / "project.yml").read_text(encoding="utf8")


def test_results_deps_name_every_input_of_the_small_grid(repo_root):
    """Every transformer, vectors folder and tune record a shipped grid reads is a dep of `results`."""
    import yaml

    project = yaml.safe_load((repo_root / "project.yml").read_text(encoding="utf8"))
    command = next(c for c in project["commands"] if c["name"] == "results")
    for profile in ("small", "tiny"):
        deps = {d.replace("${vars.profile}", profile) for d in command["deps"]}
        grid = load_grid(repo_root / "configs" / "results" / f"{profile}.cfg")
        for spec in grid.models.values():
            for path in (spec.transformer, spec.vectors, spec.tuned):
                if path and (path.startswith("training/") or path.startswith("configs/")):
                    covered = [dep for dep in deps if path == dep or path.startswith(dep.rstrip("/") + "/")]
                    assert covered, f"{profile}: {spec.name} reads {path}, not a dep of `results`"
        for dataset in grid.datasets:
            for split in ("train", "dev", "test"):
                assert f"corpus/ner/{dataset}/{split}.spacy" in deps


def test_job_threads_share_the_cores(monkeypatch):
    from spacy_cbio.results.run import job_threads

    monkeypatch.setattr("os.cpu_count", lambda: 8)
    assert job_threads(1, 0) == 0 and job_threads(2, 0) == 4 and job_threads(3, 0) == 2
    assert job_threads(16, 0) == 1 and job_threads(2, 3) == 3


def _alive(processes: list) -> list:
    """Those of ``processes`` still running (a zombie waiting to be reaped has stopped)."""
    import psutil

    alive = []
    for process in processes:
        try:
            if process.is_running() and process.status() != psutil.STATUS_ZOMBIE:
                alive.append(process)
        except psutil.NoSuchProcess:
            continue
    return alive


def test_killed_parallel_run_leaves_no_training_behind(tmp_path, tiny_hf_model_dir):
    """SIGKILL of results-run --jobs 2: its job processes and their trainings stop too (they
    noticed the parent is gone), instead of going on with the queued runs."""
    import signal
    import subprocess
    import sys
    import time

    import psutil

    grid = _toy_grid_file(tmp_path, tiny_hf_model_dir)
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
    time.sleep(1)  # the trainings' processes start right after their logs
    descendants = psutil.Process(parent.pid).children(recursive=True)
    assert len(_alive(descendants)) >= 4  # two job processes and their two trainings
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    deadline = time.monotonic() + 60
    while _alive(descendants) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert _alive(descendants) == []
    assert not list(out.glob("runs/*/*/*.json"))  # nothing finished, nothing half-written


def test_n_seeds_and_datasets_restrict_a_model(tmp_path, tiny_hf_model_dir):
    grid_file = _toy_grid_file(tmp_path, tiny_hf_model_dir)
    text = grid_file.read_text(encoding="utf8").replace("selection_seeds = [0]", "selection_seeds = [0, 5]")
    text = text.replace('datasets = ["toy"]', 'datasets = ["toy", "other"]')
    grid_file.write_text(text.replace('recipe = "cnn"\n', 'recipe = "cnn"\nn_seeds = 1\ndatasets = ["toy"]\n'),
                         encoding="utf8")
    grid = load_grid(grid_file)
    assert [run.key for run in grid.runs(["cnn"])] == ["cnn/toy/seed0", "cnn/toy/seed1"]
    assert len(grid.runs(["trf"])) == 6
    assert [run.key for run in load_grid(grid_file, {"results.datasets": ["other"]}).runs()] == \
        ["trf/other/seed0", "trf/other/seed5", "trf/other/seed1"]
