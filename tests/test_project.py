"""The spaCy project end to end on the ``tiny`` profile and a sample of the real data mirror (the
first documents of each folder, :func:`spacy_cbio.data.testing.sample_mirror`), in a copy of the
project: ``spacy project run all`` from assets to packages, then again (every command skipped),
then after a change of the pretraining profile (pretraining and everything after it stale,
nothing before it). The full corpora are converted and counted in tests/data."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import List, Set, Tuple

import pytest
import srsly
import yaml
from spacy.tokens import DocBin
from spacy.vocab import Vocab

REPO = Path(__file__).resolve().parents[1]
PROJECT = yaml.safe_load((REPO / "project.yml").read_text(encoding="utf8"))
ALL = PROJECT["workflows"]["all"]
PRETRAIN = ["pretrain-tokenizer", "pretrain-general", "pretrain-bio", "pretrain-report"]
BEFORE_PRETRAIN = ["assets", "convert", "corpus", "corpus-vectors", "vectors"]
AFTER_PRETRAIN = ["train", "evaluate", "package"]
RESEARCH = ["pretrain-control", "pretrain-compare", "benchmark"]


def test_workflow_order_and_names():
    names = [cmd["name"] for cmd in PROJECT["commands"]]
    assert ALL == BEFORE_PRETRAIN + PRETRAIN + AFTER_PRETRAIN
    assert PROJECT["workflows"]["research"] == RESEARCH  # the results' extras, after `all`
    assert set(ALL) <= set(names) and len(names) == len(set(names))


def _paths(cmd: dict, key: str) -> List[str]:
    return [p.replace("${vars.profile}", "tiny") for p in cmd.get(key, [])]


def test_every_command_declares_code_inputs_and_outputs():
    """Each command lists the code it runs and writes only below its own outputs."""
    owners = {}
    for cmd in PROJECT["commands"]:
        deps, outs = _paths(cmd, "deps"), _paths(cmd, "outputs")
        assert outs, f"{cmd['name']}: no outputs"
        assert any(d.endswith(".py") for d in deps), f"{cmd['name']}: lists no code"
        assert not cmd.get("no_skip"), f"{cmd['name']}: never skipped"
        for dep in deps:  # the code and configs named exist in the repository
            if dep.endswith((".py", ".cfg")) and "${" not in dep:
                assert (REPO / dep).is_file(), f"{cmd['name']}: {dep} does not exist"
        for out in outs:
            for owned, other in owners.items():
                assert not (out == owned or out.startswith(owned + "/") or owned.startswith(out + "/")), (
                    f"{cmd['name']} writes {out}, inside {other}'s output {owned}")
        owners.update({out: cmd["name"] for out in outs})


def _copy_project(dest: Path) -> Path:
    dest.mkdir()
    for name in ("project.yml", "setup.cfg", "pyproject.toml"):  # the package command builds the code wheel
        shutil.copy(REPO / name, dest)
    for folder in ("configs", "corpus_scripts", "spacy_cbio"):
        shutil.copytree(REPO / folder, dest / folder, ignore=shutil.ignore_patterns("__pycache__"))
    return dest


def _run_all(project: Path, data_root: Path, name: str = "all") -> Tuple[Set[str], str]:
    """Run the ``all`` workflow (or one command, ``name``); RETURNS the commands that ran (not
    skipped) and the output (stdout, then stderr, where the commands' log messages go)."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
           "PYTHONDONTWRITEBYTECODE": "1"}
    # `python -m spacy project run`, each command forked from a process that has already imported
    # spaCy, torch and transformers (tests/warm_run.py): the same commands, seconds faster each.
    result = subprocess.run(
        [sys.executable, str(REPO / "tests" / "warm_run.py"), "project", "run", name, str(project),
         "--vars.profile=tiny", f"--vars.mirror={data_root.resolve()}"],
        cwd=project, capture_output=True, text=True, env=env,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    skipped = set(re.findall(r"Skipping '([\w-]+)': nothing changed", result.stdout))
    names = set(ALL) if name == "all" else {name}
    assert skipped <= names
    return names - skipped, result.stdout + result.stderr


_TINY_RUN: dict = {}


def tiny_workflow(tmp_path_factory, data_root: Path) -> Tuple[Path, Set[str], str, Path]:
    """The first ``all`` run in a copy of the project, on a sample of the mirror ``data_root``,
    made once per session and shared with the documentation examples (tests/docs): (project,
    commands that ran, output, the sample mirror)."""
    from spacy_cbio.data.testing import sample_mirror

    if "run" not in _TINY_RUN:
        sample = tmp_path_factory.mktemp("mirror") / "data"
        counts = sample_mirror(data_root, sample)
        assert counts["docs_kept"] > 0 and counts["docs_left_out"] > 0 and counts["archives_cut"] == 1, counts
        project = _copy_project(tmp_path_factory.mktemp("project") / "project")
        _TINY_RUN["run"] = (project, *_run_all(project, sample), sample)
    return _TINY_RUN["run"]


@pytest.fixture(scope="module")
def first_run(tmp_path_factory, data_root):
    return tiny_workflow(tmp_path_factory, data_root)


def test_all_tiny_produces_every_stage(first_run):
    project, ran, stdout, _ = first_run
    assert ran == set(ALL)
    report = srsly.read_json(project / "corpus" / "ner" / "report.json")
    assert {"e3c", "emea", "medline", "quaero", "mantra"} <= set(report["datasets"])
    for run in ("general", "bio", "model"):
        assert (project / "training" / "pretrain" / "tiny" / run / "model.safetensors").exists()
    comparison = srsly.read_json(project / "training" / "pretrain" / "tiny" / "report" / "comparison.json")
    assert set(comparison["loss"]) == {"general", "bio"} and set(comparison["loss"]["bio"]) == {"biomedical", "general"}
    for research in ("control", "report_control", "benchmark"):  # the `research` workflow's, not `all`'s
        assert not (project / "training" / "pretrain" / "tiny" / research).exists()
    for name in ("bio", "general", "both"):
        assert (project / "training" / "vectors" / "tiny" / name / "vocab" / "vectors").exists()
    for dataset in ("e3c", "emea", "medline", "quaero"):
        strict = srsly.read_json(project / "metrics" / "tiny" / f"{dataset}.json")["seqeval_strict_iob2"]
        docs = DocBin().from_disk(project / "corpus" / "ner" / dataset / "test.spacy").get_docs(Vocab())
        n_gold = sum(len(doc.ents) for doc in docs)  # the score counts every gold entity of the test set
        assert sum(row["support"] for row in strict["per_type"].values()) == n_gold > 0
    assert (project / "metrics" / "tiny" / "quaero_on_mantra.json").exists()
    wheels = sorted(p.name for p in (project / "packages" / "tiny").glob("*/dist/*.whl"))
    assert [w.split("-")[0] for w in wheels] == ["fr_cbio_ner", "fr_cbio_ner_e3c", "fr_cbio_ner_emea", "fr_cbio_ner_medline"]
    # CAS1/CAS2 absent: the stages say how to get them and go on.
    assert "deft.lisn.upsaclay.fr" in stdout


def _stale(project: Path, data_root: Path) -> Set[str]:
    """The commands of ``all`` that would rerun now: those spaCy's own rerun check (weasel's)
    flags, and those reading an output of a flagged command (it changes when that one reruns)."""
    from weasel.cli.run import check_rerun
    from weasel.util import load_project_config

    config = load_project_config(project, overrides={"vars.profile": "tiny", "vars.mirror": str(data_root.resolve())})
    commands = {cmd["name"]: cmd for cmd in config["commands"]}
    stale, stale_outputs = set(), []
    for name in ALL:
        deps = commands[name].get("deps", [])
        reads_stale = any(dep == out or dep.startswith(out + "/") for dep in deps for out in stale_outputs)
        if reads_stale or check_rerun(project, commands[name]):
            stale.add(name)
            stale_outputs += commands[name].get("outputs", [])
    return stale


def test_second_run_skips_everything_then_pretraining_change_makes_downstream_stale(first_run):
    """Run ``all`` again: nothing reruns. Change the pretraining profile: the pretraining commands
    and exactly the commands after them are stale, nothing before (weasel's own rerun check,
    which ``spacy project run`` applies; rerunning them would double the suite's longest test)."""
    project, _, _, mirror = first_run
    ran, _ = _run_all(project, mirror)
    assert ran == set(), f"second run reran {sorted(ran)}"
    assert _stale(project, mirror) == set()
    cfg = project / "configs" / "pretrain" / "tiny.cfg"
    text = cfg.read_text(encoding="utf8")
    changed = re.sub(r"(?m)^general_steps = (\d+)", lambda m: f"general_steps = {int(m.group(1)) + 2}", text)
    assert changed != text
    cfg.write_text(changed, encoding="utf8")
    try:
        assert _stale(project, mirror) == set(PRETRAIN) | set(AFTER_PRETRAIN)
    finally:  # the project is shared with tests/docs
        cfg.write_text(text, encoding="utf8")
    assert _stale(project, mirror) == set()

