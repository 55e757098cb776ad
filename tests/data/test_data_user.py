"""A user's own corpus (spacy_cbio.data.user): Prodigy and doccano JSONL, BRAT layouts, seeded
splits, errors that name the file and line, the flat view's drops counted, labels found."""
from __future__ import annotations

import json

import pytest
from spacy.tokens import DocBin
from spacy.vocab import Vocab
from typer.testing import CliRunner

from spacy_cbio.__main__ import app
from spacy_cbio.data.errors import DataError, Ledger
from spacy_cbio.data.user import check_name, read_annotated_jsonl, read_user_split

TEXT = "Le patient a une toux sèche et prend du paracétamol."
TOUX, SECHE, PARA = (17, 21), (17, 27), (40, 51)


def _write(path, rows):
    path.write_text("\n".join(json.dumps(row, ensure_ascii=False) if not isinstance(row, str) else row
                              for row in rows) + "\n", encoding="utf8")
    return path


def test_prodigy_and_doccano_lines_read_alike(tmp_path):
    rows = [
        {"text": TEXT, "spans": [{"start": 17, "end": 21, "label": "DISO"}, {"start": 40, "end": 51, "label": "CHEM"}],
         "meta": {"id": "p1"}, "answer": "accept"},
        {"id": 7, "text": TEXT, "label": [[17, 21, "DISO"], [40, 51, "CHEM"]]},
        {"text": TEXT, "entities": [{"start_offset": 40, "end_offset": 51, "label": "CHEM"}]},
        {"text": TEXT, "spans": [], "answer": "reject"},
        {"text": "Rien à signaler."},
    ]
    ledger = Ledger()
    docs = read_annotated_jsonl(_write(tmp_path / "a.jsonl", rows), ledger=ledger)
    assert [d.doc_id for d in docs] == ["p1", "7", "3", "5"]
    assert [(e.label, e.fragments) for e in docs[0].entities] == [("DISO", [TOUX]), ("CHEM", [PARA])]
    assert [(e.label, e.fragments) for e in docs[1].entities] == [("DISO", [TOUX]), ("CHEM", [PARA])]
    assert docs[3].entities == []
    assert ledger.counts["skipped.not_accepted"] == 1


@pytest.mark.parametrize("row,message", [
    ("{not json", "not valid JSON"),
    ({"spans": []}, "not a JSON object with a string 'text'"),
    ({"text": TEXT, "spans": [{"start": 40, "end": 99, "label": "CHEM"}]}, "entity 1 (40, 99, 'CHEM') is not"),
    ({"text": TEXT, "label": [[21, 17, "DISO"]]}, "entity 1 (21, 17, 'DISO')"),
    ({"text": TEXT, "spans": [{"start": 0, "end": 2, "label": ""}]}, "entity 1 (0, 2, '')"),
    ({"text": TEXT, "spans": "DISO"}, "'spans', 'label' or 'entities' is not a list"),
])
def test_bad_line_names_file_and_line_or_is_counted(tmp_path, row, message):
    path = _write(tmp_path / "bad.jsonl", [{"text": "ok"}, row])
    with pytest.raises(DataError, match=f"{path}:2: .*{message}".replace("(", r"\(").replace(")", r"\)")
                       .replace("[", r"\[")):
        read_annotated_jsonl(path)
    ledger = Ledger()
    docs = read_annotated_jsonl(path, lenient=True, ledger=ledger)
    assert sum(ledger.counts.values()) == 1 and docs[0].text == "ok"


def test_duplicate_ids_and_non_utf8(tmp_path):
    path = _write(tmp_path / "d.jsonl", [{"id": "x", "text": "a"}, {"id": "x", "text": "b"}])
    with pytest.raises(DataError, match="d.jsonl:2: id 'x' already used on line 1"):
        read_annotated_jsonl(path)
    raw = tmp_path / "latin1.jsonl"
    raw.write_bytes(b'{"text": "fi\xe8vre"}\n')
    with pytest.raises(DataError, match="latin1.jsonl:1: not UTF-8"):
        read_annotated_jsonl(raw)


def _brat(folder, n, offset=0):
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        (folder / f"d{offset + i}.txt").write_text(TEXT, encoding="utf8")
        (folder / f"d{offset + i}.ann").write_text(
            f"T1\tDISO {TOUX[0]} {TOUX[1]}\ttoux\nT2\tDISO {SECHE[0]} {SECHE[1]}\ttoux sèche\n"
            f"T3\tCHEM {PARA[0]} {PARA[1]}\tparacétamol\n", encoding="utf8")


def test_layouts_and_seeded_splits(tmp_path):
    _brat(tmp_path / "flat", 10)
    splits = {s: [d.doc_id for d in read_user_split(tmp_path / "flat", s, seed=0)] for s in ("train", "dev", "test")}
    assert sorted(sum(splits.values(), [])) == sorted(f"d{i}" for i in range(10))  # a partition
    assert (len(splits["train"]), len(splits["dev"]), len(splits["test"])) == (8, 1, 1)
    assert [d.doc_id for d in read_user_split(tmp_path / "flat", "test", seed=0)] == splits["test"]  # seeded
    assert [d.doc_id for d in read_user_split(tmp_path / "flat", "test", seed=1)] != splits["test"]
    for i, split in enumerate(("train", "dev", "test")):
        _brat(tmp_path / "given" / split, 2, offset=10 * i)
    assert [d.doc_id for d in read_user_split(tmp_path / "given", "dev")] == ["d10", "d11"]
    (tmp_path / "jsonl").mkdir()
    for split in ("train", "dev", "test"):
        _write(tmp_path / "jsonl" / f"{split}.jsonl", [{"id": f"{split}1", "text": TEXT}])
    assert [d.doc_id for d in read_user_split(tmp_path / "jsonl", "test")] == ["test1"]
    _write(tmp_path / "two.jsonl", [{"text": "a"}, {"text": "b"}])
    with pytest.raises(DataError, match="2 document\\(s\\): a seeded train/dev/test split needs at least 3"):
        read_user_split(tmp_path / "two.jsonl", "train")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no .ann/.txt files"):
        read_user_split(tmp_path / "empty", "train")


def test_names_are_checked():
    assert check_name("ward_notes") == "ward_notes"
    with pytest.raises(ValueError, match="lower-case letters"):
        check_name("My Data")
    with pytest.raises(ValueError, match="built-in dataset"):
        check_name("e3c", reserved=("e3c",))


def test_convert_user_corpus_reports_labels_and_flat_view_drops(tmp_path):
    _brat(tmp_path / "brat", 10)
    _write(tmp_path / "notes.jsonl", [{"id": f"n{i}", "text": TEXT, "spans": [{"start": 40, "end": 51, "label": "CHEM"}]}
                                      for i in range(5)])
    out = tmp_path / "corpus"
    result = CliRunner().invoke(app, ["convert", "--user", f"mine={tmp_path / 'brat'}", "--user",
                                      f"notes={tmp_path / 'notes.jsonl'}", "--output", str(out)])
    assert result.exit_code == 0, result.output
    report = json.loads((out / "mine" / "report.json").read_text(encoding="utf8"))
    assert report["labels"] == {"CHEM": 10, "DISO": 20}  # every source entity, before the flat view
    flat = {split: list(DocBin().from_disk(out / "mine" / f"{split}.spacy").get_docs(Vocab())) for split in ("train", "dev", "test")}
    assert sum(len(docs) for docs in flat.values()) == 10
    doc = flat["train"][0]
    assert [(e.text, e.label_) for e in doc.ents] == [("toux sèche", "DISO"), ("paracétamol", "CHEM")]
    drops = sum(stats["repairs"].get("drop.nested", {}).get("count", 0) for stats in report["splits"].values())
    assert drops == 10  # "toux" inside "toux sèche", once per document
    assert set(json.loads((out / "report.json").read_text())["datasets"]) == {"mine", "notes"}  # only these
    bad = CliRunner().invoke(app, ["convert", "--user", "e3c=" + str(tmp_path / "brat"), "--output", str(out)])
    assert bad.exit_code == 1 and "built-in dataset" in bad.output
    missing = CliRunner().invoke(app, ["convert", "--user", f"x={tmp_path / 'nope'}", "--output", str(out)])
    assert missing.exit_code == 1 and "does not exist" in missing.output
    malformed = CliRunner().invoke(app, ["convert", "--user", "mine", "--output", str(out)])
    assert malformed.exit_code == 2 and "NAME=PATH" in malformed.output
