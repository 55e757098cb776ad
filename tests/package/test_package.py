"""Packaged-wheel round trip: install the spacy-cbio wheel in a fresh venv that cannot see this
repository, assemble and train a tiny pipeline with it, ``package`` that pipeline, install its
wheel and ``spacy.load`` it offline once the training directory is gone."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
import spacy

from spacy_cbio.data.datasets import DATASETS
from spacy_cbio.package.meta import build_meta
from spacy_cbio.train.testing import write_toy_corpus

REPO = Path(__file__).resolve().parents[2]
TEXT = "Le patient présente une fièvre et une toux ; il prend du paracétamol et de l' amoxicilline ."


def _run(cmd, **kwargs):
    result = subprocess.run(cmd, capture_output=True, text=True, **kwargs)
    assert result.returncode == 0, f"{cmd} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


def _offline_env():
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", HF_DATASETS_OFFLINE="1")
    return env


@pytest.fixture(scope="module")
def fresh_python(own_wheel, tmp_path_factory) -> Path:
    """A venv whose spacy_cbio is the wheel's: third-party libraries come from this venv's
    site-packages (a plain path entry, so this venv's editable spacy_cbio is NOT visible)."""
    venv = tmp_path_factory.mktemp("fresh") / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    python = venv / "bin" / "python"
    site = Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip())
    (site / "_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    _run([str(python), "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", str(own_wheel)])
    return python


@pytest.fixture(scope="module")
def trained_pipeline(fresh_python, tmp_path_factory, tiny_hf_model_dir) -> Path:
    """Assembled and trained by the installed wheel, outside the repository."""
    work = tmp_path_factory.mktemp("package_train")
    paths = write_toy_corpus(work / "toy")
    overrides = [f"--{key}={value}" for key, value in paths.items()]
    _run([str(fresh_python), "-m", "spacy_cbio", "assemble-config", "config.cfg", "--profile", "tiny",
          f"--paths.transformer={tiny_hf_model_dir}", *overrides], cwd=work, env=_offline_env())
    _run([str(fresh_python), "-m", "spacy_cbio", "train", "ner", "--profile", "tiny", "--threads", "1",
          f"--paths.transformer={tiny_hf_model_dir}", *overrides], cwd=work, env=_offline_env())
    run = json.loads((work / "ner" / "run.json").read_text())
    assert run["versions"]["spacy-cbio"] and Path(run["argv"][0]).is_relative_to(fresh_python.parents[1])
    assert (work / "config.cfg").read_text() == (work / "ner" / "config.cfg").read_text()
    return work / "ner" / "model-best"


def _metrics(tmp_path):
    metrics = tmp_path / "metrics.json"
    strict = {"micro": {"p": 0.5, "r": 0.25, "f": 1 / 3}, "macro": {"p": 0.5, "r": 0.25, "f": 0.3},
              "per_type": {"DISO": {"p": 0.5, "r": 0.25, "f": 1 / 3, "support": 4, "n_pred": 2}}}
    metrics.write_text(json.dumps({"seqeval_strict_iob2": strict}))
    return metrics


def test_build_meta_records_data_licence_scores_and_base(trained_pipeline, tmp_path):
    meta = build_meta(trained_pipeline, "quaero", "cbio_ner", metrics_path=_metrics(tmp_path),
                      base_model="training/pretrain/small/model")
    assert meta["name"] == "cbio_ner" and meta["lang"] == "fr"
    assert meta["performance"]["ents_f"] == pytest.approx(1 / 3)
    assert meta["performance"]["ents_per_type"]["DISO"]["r"] == pytest.approx(0.25)
    assert {"DISO", "CHEM"} <= set(meta["labels"]["ner"])
    assert any(src["name"].startswith("transformer:") for src in meta["sources"])
    assert any(req.startswith("spacy-cbio") for req in meta["requirements"])
    # Licence, description and labels of the training data come from the dataset table.
    source = meta["sources"][0]
    assert source["name"] == "quaero" and source["url"] == DATASETS["quaero"].url
    assert meta["spacy_cbio"]["dataset_labels"] == list(DATASETS["quaero"].labels)
    assert meta["license"].startswith(DATASETS["quaero"].licence)
    assert DATASETS["quaero"].description in meta["description"]
    emea = build_meta(trained_pipeline, "emea", "cbio_ner_emea")
    assert emea["sources"][0]["name"] == "emea" and DATASETS["emea"].description in emea["description"]
    # the trained pipeline's token features (tiny profile: the transformer alone, no vectors)
    assert meta["spacy_cbio"]["features"] == {"recipe": "transformer", "features": "transformer"}


def test_meta_records_stacked_features(tmp_path):
    from spacy_cbio.package.meta import pipeline_features

    (tmp_path / "config.cfg").write_text('[paths]\nvectors = "training/vectors/small/both"\n\n'
                                         '[cbio]\nrecipe = "transformer"\nfeatures = "stacked"\n'
                                         'static_width = 192\nstatic_depth = 4\n\n'
                                         '[training]\nfrozen_components = ["transformer"]\n', encoding="utf8")
    meta = {"vectors": {"width": 600, "vectors": 50000, "keys": 0, "mode": "floret"}}
    assert pipeline_features(tmp_path, meta) == {
        "recipe": "transformer", "features": "stacked", "frozen": ["transformer"],
        "static_vectors": {"width": 600, "vectors": 50000, "keys": 0, "mode": "floret", "source": "both"},
        "static_tok2vec": {"width": 192, "depth": 4}}


def test_build_meta_rejects_wrong_dataset_and_non_pipeline(trained_pipeline, tmp_path):
    with pytest.raises(ValueError, match="CHEM"):  # E3C has CLINENTITY only
        build_meta(trained_pipeline, "e3c", "cbio_ner_e3c")
    with pytest.raises(ValueError, match="unknown dataset"):
        build_meta(trained_pipeline, "nope", "cbio_ner_nope")
    with pytest.raises(FileNotFoundError, match="meta.json"):
        build_meta(tmp_path, "quaero", "cbio_ner")


def test_wheel_installs_and_loads_offline_in_fresh_venv(trained_pipeline, fresh_python, tmp_path):
    # Reference predictions from the trained directory, before it is moved away.
    reference = spacy.load(trained_pipeline)(TEXT)
    expected = [f"{t.ent_iob_}-{t.ent_type_}" for t in reference]

    packages = tmp_path / "packages"
    _run([sys.executable, "-m", "spacy_cbio", "package", str(trained_pipeline), str(packages),
          "--dataset", "quaero", "--name", "cbio_ner"], cwd=REPO)
    model_wheels = sorted(packages.glob("fr_cbio_ner-*/dist/*.whl"))
    assert len(model_wheels) == 1
    _run([str(fresh_python), "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", str(model_wheels[0])])

    # The training directory is gone: the package must carry everything (weights included).
    shutil.rmtree(trained_pipeline.parent)
    script = (
        "import json, spacy, spacy_cbio, fr_cbio_ner\n"
        f"nlp = spacy.load('fr_cbio_ner')\n"
        f"doc = nlp({TEXT!r})\n"
        "print(json.dumps({'spacy_cbio': spacy_cbio.__file__, 'pkg': fr_cbio_ner.__file__,\n"
        "  'pipes': nlp.pipe_names, 'labels': list(nlp.get_pipe('ner').labels),\n"
        "  'tags': [f'{t.ent_iob_}-{t.ent_type_}' for t in doc],\n"
        "  'ents': [(e.text, e.label_, e._.score) for e in doc.ents]}))\n"
    )
    out = _run([str(fresh_python), "-c", script], cwd=tmp_path, env=_offline_env())
    loaded = json.loads(out.stdout.strip().splitlines()[-1])
    venv = fresh_python.parents[1]
    assert loaded["spacy_cbio"].startswith(str(venv)) and loaded["pkg"].startswith(str(venv))
    assert loaded["pipes"] == ["transformer", "ner"]
    assert {"DISO", "CHEM"} <= set(loaded["labels"])
    assert loaded["tags"] == expected
    for _text, label, score in loaded["ents"]:
        assert label in loaded["labels"] and 0.0 <= score <= 1.0
