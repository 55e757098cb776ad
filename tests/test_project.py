"""The spaCy project end to end: ``spacy project run all`` on the ``tiny`` profile, on the real
data mirror, in a copy of the project (assets, convert, corpus, pretrain, benchmark, train,
evaluate, package)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import srsly
import yaml

REPO = Path(__file__).resolve().parents[1]
STAGES = ["assets", "convert", "corpus", "pretrain", "benchmark", "train", "evaluate", "package"]


def test_project_yml_names_commands_and_assets():
    project = yaml.safe_load((REPO / "project.yml").read_text())
    names = [cmd["name"] for cmd in project["commands"]]
    assert set(STAGES) <= set(names)
    assert project["workflows"]["all"] == STAGES
    assert project["vars"]["profile"] in ("tiny", "small", "paper")
    for asset in project["assets"]:
        assert asset["dest"].startswith("assets/")
        assert "git" in asset and asset["git"]["repo"].startswith("https://")
    for profile in ("tiny", "small", "paper"):
        assert (REPO / "configs" / "pretrain" / f"{profile}.cfg").exists()
        assert (REPO / "configs" / "ner" / "profiles" / f"{profile}.cfg").exists()


def test_workflow_all_tiny(tmp_path, data_root):
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(REPO / "project.yml", project)
    for folder in ("configs", "corpus_scripts"):
        shutil.copytree(REPO / folder, project / folder, ignore=shutil.ignore_patterns("__pycache__"))
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "spacy", "project", "run", "all", str(project),
         "--vars.profile=tiny", f"--vars.mirror={data_root.resolve()}"],
        cwd=project, capture_output=True, text=True, env=env,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]

    report = srsly.read_json(project / "corpus" / "ner" / "report.json")
    assert {"e3c", "emea", "medline", "quaero", "mantra"} <= set(report["datasets"])
    for run in ("general", "bio", "control", "model"):
        assert (project / "training" / "pretrain" / "tiny" / run / "model.safetensors").exists()
    assert json.loads((project / "training" / "pretrain" / "tiny" / "benchmark" / "benchmark.json").read_text())["ratio"] > 0
    for dataset in ("e3c", "emea", "medline", "quaero"):
        assert (project / "training" / "ner" / "tiny" / dataset / "model-best" / "meta.json").exists()
        metrics = srsly.read_json(project / "metrics" / "tiny" / f"{dataset}.json")
        assert 0.0 <= metrics["seqeval_strict_iob2"]["micro"]["f"] <= 1.0
    assert (project / "metrics" / "tiny" / "quaero_on_mantra.json").exists()
    assert "quaero.json" in (project / "metrics" / "tiny" / "README.md").read_text()
    wheels = sorted(p.name for p in (project / "packages" / "tiny").glob("*/dist/*.whl"))
    assert [w.split("-")[0] for w in wheels] == ["fr_cbio_ner", "fr_cbio_ner_e3c", "fr_cbio_ner_emea", "fr_cbio_ner_medline"]
    # CAS1/CAS2 absent: the stages say how to get them and go on.
    assert "deft.lisn.upsaclay.fr" in result.stdout
