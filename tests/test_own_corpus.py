"""Your own corpus end to end, as docs/own-data.md does it on the small profile, here on the tiny
one: a BRAT folder and a Prodigy JSONL file go through ``convert --user``, ``train``,
``evaluate`` and ``package``, and each wheel loads with ``spacy.load("fr_cbio_ner_<name>")``."""
from __future__ import annotations

import importlib
import json
import sys
import zipfile
from pathlib import Path

import pytest
import spacy
from typer.testing import CliRunner

from spacy_cbio.__main__ import app
from spacy_cbio.about import __version__
from spacy_cbio.train.pipeline import train_pipeline
from spacy_cbio.train.testing import toy_docs


def _write_brat(folder: Path, docs) -> None:
    folder.mkdir(parents=True)
    for i, doc in enumerate(docs):
        (folder / f"note{i}.txt").write_text(doc.text, encoding="utf8")
        lines = [f"T{k}\t{e.label_} {e.start_char} {e.end_char}\t{e.text}" for k, e in enumerate(doc.ents, 1)]
        (folder / f"note{i}.ann").write_text("\n".join(lines) + "\n", encoding="utf8")


def _write_prodigy(path: Path, docs) -> None:
    rows = [{"text": doc.text, "meta": {"id": f"p{i}"}, "answer": "accept",
             "spans": [{"start": e.start_char, "end": e.end_char, "label": e.label_} for e in doc.ents]}
            for i, doc in enumerate(docs)]
    path.write_text("\n".join(json.dumps(row, ensure_ascii=False) for row in rows) + "\n", encoding="utf8")


@pytest.fixture(scope="module")
def own_corpora(tmp_path_factory):
    work = tmp_path_factory.mktemp("own")
    docs = toy_docs(n_repeats=5, sentences_per_doc=2)
    _write_brat(work / "my_brat", docs)
    _write_prodigy(work / "annotations.jsonl", docs)
    result = CliRunner().invoke(app, ["convert", "--user", f"mybrat={work / 'my_brat'}",
                                      "--user", f"myprodigy={work / 'annotations.jsonl'}", "--output", str(work / "corpus")])
    assert result.exit_code == 0, result.output
    return work, len(docs)


@pytest.mark.parametrize("name", ["mybrat", "myprodigy"])
def test_own_corpus_trains_packages_and_loads(own_corpora, name, tiny_hf_model_dir, monkeypatch):
    work, n_docs = own_corpora
    corpus = work / "corpus" / name
    report = json.loads((corpus / "report.json").read_text(encoding="utf8"))
    assert set(report["labels"]) == {"CHEM", "DISO"}
    assert sum(stats["documents"] for stats in report["splits"].values()) == n_docs
    paths = {f"paths.{split}": str(corpus / f"{split}.spacy") for split in ("train", "dev", "test")}
    model = train_pipeline(work / "training" / name, "tiny", {**paths, "paths.transformer": str(tiny_hf_model_dir)},
                           threads=1)
    runner = CliRunner()
    metrics = work / "metrics" / f"{name}.json"
    evaluated = runner.invoke(app, ["evaluate", str(model), str(corpus / "test.spacy"), "--output", str(metrics)])
    assert evaluated.exit_code == 0, evaluated.output
    out = work / "packages" / name
    packaged = runner.invoke(app, ["package", str(model), str(out), "--dataset", name, "--metrics", str(metrics),
                                   "--licence", "CC BY 4.0", "--code-wheel", "none"])
    assert packaged.exit_code == 0, packaged.output
    wheel = out / f"fr_cbio_ner_{name}-{__version__}-py3-none-any.whl"
    site = work / "site" / name
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)
    monkeypatch.syspath_prepend(str(site))
    importlib.invalidate_caches()
    nlp = spacy.load(f"fr_cbio_ner_{name}")
    assert set(nlp.get_pipe("ner").labels) == {"CHEM", "DISO"}
    assert nlp.meta["license"] == "CC BY 4.0 (training data); code MIT"
    assert nlp.meta["spacy_cbio"]["dataset"] == name and nlp.meta["performance"]["ents_f"] >= 0.0
    doc = nlp("Le patient a une fièvre et prend du paracétamol .")
    assert all(ent.label_ in {"CHEM", "DISO"} and 0.0 <= ent._.score <= 1.0 for ent in doc.ents)
    sys.modules.pop(f"fr_cbio_ner_{name}", None)


def test_package_refuses_a_built_in_name_for_an_unknown_corpus(tmp_path):
    from spacy_cbio.data.datasets import user_spec

    with pytest.raises(ValueError, match="built-in dataset"):
        user_spec("quaero")
    assert user_spec("mine", licence="CC0").licence == "CC0"
