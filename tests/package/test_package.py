"""Packaged-wheel round trip: train a tiny pipeline, ``package`` it, install the wheels in a fresh
venv that cannot see the training directories, and ``spacy.load`` it offline."""
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

from spacy_cbio.package.meta import build_meta
from spacy_cbio.train.testing import write_toy_corpus

REPO = Path(__file__).resolve().parents[2]
TEXT = "Le patient présente une fièvre et une toux ; il prend du paracétamol et de l' amoxicilline ."


def _run(cmd, **kwargs):
    result = subprocess.run(cmd, capture_output=True, text=True, **kwargs)
    assert result.returncode == 0, f"{cmd} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


@pytest.fixture(scope="module")
def trained_pipeline(tmp_path_factory, tiny_hf_model_dir) -> Path:
    work = tmp_path_factory.mktemp("package_train")
    dataset_cfg = write_toy_corpus(work / "toy")
    output = work / "ner"
    _run([sys.executable, "-m", "spacy_cbio", "train", str(dataset_cfg), "--transformer",
          str(tiny_hf_model_dir), "--profile", "tiny", "--output", str(output)], cwd=REPO)
    return output / "model-best"


def test_build_meta_records_data_licence_scores_and_base(trained_pipeline, tmp_path):
    metrics = tmp_path / "metrics.json"
    strict = {"micro": {"p": 0.5, "r": 0.25, "f": 1 / 3}, "macro": {"p": 0.5, "r": 0.25, "f": 0.3},
              "per_type": {"DISO": {"p": 0.5, "r": 0.25, "f": 1 / 3, "support": 4, "n_pred": 2}}}
    metrics.write_text(json.dumps({"seqeval_strict_iob2": strict}))
    meta = build_meta(trained_pipeline, "quaero", "cbio_ner", metrics_path=metrics,
                      base_model="training/pretrain/small/model")
    assert meta["name"] == "cbio_ner" and meta["lang"] == "fr"
    assert meta["performance"]["ents_f"] == pytest.approx(1 / 3)
    assert meta["performance"]["ents_per_type"]["DISO"]["r"] == pytest.approx(0.25)
    assert "GFDL" in meta["license"]
    assert any("QUAERO" in meta["description"] for _ in [0])
    assert {"DISO", "CHEM"} <= set(meta["labels"]["ner"])
    assert any(src["name"].startswith("transformer:") for src in meta["sources"])
    assert any(req.startswith("spacy-cbio") for req in meta["requirements"])


def test_build_meta_rejects_non_pipeline(tmp_path):
    with pytest.raises(FileNotFoundError, match="meta.json"):
        build_meta(tmp_path, "quaero", "cbio_ner")


def test_wheel_installs_and_loads_offline_in_fresh_venv(trained_pipeline, tmp_path):
    # Reference predictions from the trained directory, before it is moved away.
    reference = spacy.load(trained_pipeline)(TEXT)
    expected = [f"{t.ent_iob_}-{t.ent_type_}" for t in reference]

    packages = tmp_path / "packages"
    _run([sys.executable, "-m", "spacy_cbio", "package", str(trained_pipeline), str(packages),
          "--dataset", "quaero", "--name", "cbio_ner"], cwd=REPO)
    model_wheels = sorted(packages.glob("fr_cbio_ner-*/dist/*.whl"))
    assert len(model_wheels) == 1
    wheelhouse = tmp_path / "wheelhouse"
    _run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
          "-w", str(wheelhouse), str(REPO)])
    own_wheels = sorted(wheelhouse.glob("spacy_cbio-*.whl"))
    assert len(own_wheels) == 1

    # Fresh venv: third-party libraries come from this venv's site-packages (a plain path
    # entry, so this venv's editable spacy_cbio is NOT visible); spacy_cbio and the
    # pipeline come from the wheels only.
    venv = tmp_path / "fresh"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    python = venv / "bin" / "python"
    site = Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip())
    (site / "_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    _run([str(python), "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
          str(own_wheels[0]), str(model_wheels[0])])

    # The training directory is gone: the package must carry everything (weights included).
    shutil.rmtree(trained_pipeline.parent)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", HF_DATASETS_OFFLINE="1")
    script = (
        "import json, spacy, spacy_cbio, fr_cbio_ner\n"
        f"nlp = spacy.load('fr_cbio_ner')\n"
        f"doc = nlp({TEXT!r})\n"
        "print(json.dumps({'spacy_cbio': spacy_cbio.__file__, 'pkg': fr_cbio_ner.__file__,\n"
        "  'pipes': nlp.pipe_names, 'labels': list(nlp.get_pipe('ner').labels),\n"
        "  'tags': [f'{t.ent_iob_}-{t.ent_type_}' for t in doc],\n"
        "  'ents': [(e.text, e.label_, e._.score) for e in doc.ents]}))\n"
    )
    out = _run([str(python), "-c", script], cwd=tmp_path, env=env)
    loaded = json.loads(out.stdout.strip().splitlines()[-1])
    assert loaded["spacy_cbio"].startswith(str(venv)) and loaded["pkg"].startswith(str(venv))
    assert loaded["pipes"] == ["transformer", "ner"]
    assert {"DISO", "CHEM"} <= set(loaded["labels"])
    assert loaded["tags"] == expected
    for _text, label, score in loaded["ents"]:
        assert label in loaded["labels"] and 0.0 <= score <= 1.0
