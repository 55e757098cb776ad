"""The ``convert`` and ``assets`` commands."""
from __future__ import annotations

import json
import shutil

import pytest
from spacy.tokens import DocBin
from typer.testing import CliRunner

from spacy_cbio.__main__ import make_app
from spacy_cbio.data.cli import MIRROR_FOLDERS

app = make_app(["convert", "assets"])  # as on the command line: progress logged to stderr
runner = CliRunner()


def test_convert_real_data(data_root, tmp_path, nlp):
    out = tmp_path / "ner"
    result = runner.invoke(app, ["convert", "--mirror", str(data_root), "--output", str(out),
                                 "--dataset", "e3c", "--dataset", "emea", "--dataset", "mantra",
                                 "--dataset", "cas1", "--seed", "3"])
    assert result.exit_code == 0, result.output
    assert "DEFT 2020" in result.output and "--cas1-dir" in result.output
    for name, splits in (("e3c", ("train", "dev", "test")), ("emea", ("train", "dev", "test")),
                         ("mantra", ("test",))):
        rep = json.loads((out / name / "report.json").read_text(encoding="utf-8"))
        assert rep["seed"] == 3 and set(rep["splits"]) == set(splits)
        for split in splits:
            docs = list(DocBin().from_disk(out / name / f"{split}.spacy").get_docs(nlp.vocab))
            st = rep["splits"][split]
            assert len(docs) == st["documents"] > 0
            assert sum(len(d.ents) for d in docs) == st["entities"]
            assert [d.user_data["doc_id"] for d in docs] == st["doc_ids"]
            assert all(d.has_annotation("SENT_START") for d in docs)
            drops = sum(v["count"] for r, v in st["repairs"].items() if r.startswith("drop."))
            assert st["entities"] + drops == st["source_entities"]
        assert not (out / name / "train.spacy").exists() or "train" in splits
    agg = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert agg["protocol"] == "paper" and agg["spacy_version"]
    assert agg["datasets"]["cas1"]["status"] == "missing"
    assert str(data_root.resolve()) == agg["mirror"]
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "| e3c | test |" in md and "`drop.discontinuous_extent_only`" in md
    assert "| mantra | test |" in md


def test_convert_user_cas_dir_seeded_split(fixtures, tmp_path, nlp):
    cas = tmp_path / "cas1"
    cas.mkdir()
    for i in range(10):
        for ext in ("txt", "ann"):
            shutil.copy(fixtures / "brat_good" / f"case.{ext}", cas / f"doc{i}.{ext}")
    out = tmp_path / "out"
    args = ["convert", "--mirror", str(tmp_path / "none"), "--output", str(out),
            "--dataset", "cas1", "--cas1-dir", str(cas)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    rep = json.loads((out / "cas1" / "report.json").read_text(encoding="utf-8"))
    ids = {s: rep["splits"][s]["doc_ids"] for s in ("train", "dev", "test")}
    assert sorted(sum(ids.values(), [])) == sorted(f"doc{i}" for i in range(10))
    assert (len(ids["train"]), len(ids["dev"]), len(ids["test"])) == (8, 1, 1)
    runner.invoke(app, args + ["--output", str(tmp_path / "again")])
    again = json.loads((tmp_path / "again" / "cas1" / "report.json").read_text(encoding="utf-8"))
    assert {s: again["splits"][s]["doc_ids"] for s in ids} == ids


def test_convert_bad_input_exit_code(fixtures, tmp_path):
    result = runner.invoke(app, ["convert", "--output", str(tmp_path / "o"), "--dataset", "cas2",
                                 "--cas2-dir", str(fixtures / "brat_bad" / "text_mismatch")])
    assert result.exit_code == 1
    assert "doc.ann:2" in result.output and "does not match" in result.output
    lenient = runner.invoke(app, ["convert", "--output", str(tmp_path / "o2"), "--dataset", "cas2",
                                  "--cas2-dir", str(fixtures / "brat_bad" / "text_mismatch"), "--lenient"])
    assert lenient.exit_code == 0, lenient.output
    md = (tmp_path / "o2" / "report.md").read_text(encoding="utf-8")
    assert "`skipped.text_mismatch`" in md


def test_convert_nothing_found(tmp_path):
    result = runner.invoke(app, ["convert", "--mirror", str(tmp_path), "--output", str(tmp_path / "o")])
    assert result.exit_code == 1
    assert "not found" in result.output


def test_assets_links_mirror(tmp_path, monkeypatch):
    mirror = tmp_path / "mirror"
    for name in ("e3c", "quaero"):
        (mirror / name).mkdir(parents=True)
    dest = tmp_path / "assets"
    result = runner.invoke(app, ["assets", "--mirror", str(mirror), "--dest", str(dest)])
    assert result.exit_code == 0, result.output
    assert (dest / "e3c").is_symlink() and (dest / "e3c").resolve() == (mirror / "e3c").resolve()
    assert not (dest / "mantra_gsc").exists()
    assert "missing  mantra_gsc" in result.output and "2/6" in result.output
    # Idempotent, and the mirror can come from the environment.
    monkeypatch.setenv("CBIO_DATA_MIRROR", str(mirror))
    again = runner.invoke(app, ["assets", "--dest", str(dest)])
    assert again.exit_code == 0 and "already linked" in again.output
    assert len(MIRROR_FOLDERS) == 6


def test_assets_without_mirror(tmp_path, monkeypatch):
    monkeypatch.delenv("CBIO_DATA_MIRROR", raising=False)
    result = runner.invoke(app, ["assets", "--dest", str(tmp_path / "assets")])
    assert result.exit_code == 1
    assert "python -m spacy project assets" in result.output
