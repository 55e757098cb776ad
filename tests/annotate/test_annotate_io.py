"""annotate readers and writers, without a model: decoding, JSONL problems, BRAT fragments, names."""
from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
import spacy

from spacy_cbio.annotate.pipe import Result
from spacy_cbio.annotate.readers import Record, decode_utf8, detect_format, read_inputs, read_jsonl_lines
from spacy_cbio.annotate.writers import BratWriter, HtmlWriter, JsonlWriter, brat_fragments, brat_lines, make_writer


def test_decode_utf8_counts_replacements_not_genuine_fffd():
    assert decode_utf8("fièvre".encode()) == ("fièvre", 0)
    text, n = decode_utf8(b"fi\xe8vre \xef\xbf\xbd \xff\xfe")
    assert text.startswith("fi\ufffdvre \ufffd ") and n == 3


def test_txt_folder_recursive_sorted_keeps_crlf(tmp_path):
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "z.txt").write_bytes(b"deux\r\nlignes")
    (tmp_path / "a.txt").write_bytes(b"un")
    (tmp_path / "notes.md").write_text("ignored")
    records = list(read_inputs([str(tmp_path)]))
    assert [r.id for r in records] == ["a", "b/z"]
    assert records[1].text == "deux\r\nlignes" and records[1].relpath == Path("b/z.txt")


def test_jsonl_bad_lines_are_named_and_the_rest_read():
    lines = [b'{"id": "d1", "text": "fi\xc3\xa8vre"}\n', b"\n", b"not json\n", b'{"text": "toux"}\n',
             b'{"id": "d4"}\n', b'[1, 2]\n', b'{"id": 5, "text": 7}\n', b'{"doc": "x", "body": "b"}\n',
             b'{"id": "s", "text": "a\\ud800b"}\n', b'{"id": "r", "text": "\xe8"}\n']
    records = list(read_jsonl_lines(lines, "in.jsonl"))
    got = [(r.id, r.line, r.text, r.error is None) for r in records]
    assert got[0] == ("d1", 1, "fièvre", True)
    assert records[1].line == 3 and records[1].error.startswith("not valid JSON") and records[1].where == "in.jsonl:3"
    assert got[2] == ("4", 4, "toux", True)  # no id: the line number
    assert records[3].error == "no 'text' field" and records[3].id == "d4"
    assert records[4].error.startswith("not a JSON object")
    assert records[5].error.startswith("field 'text' is a int")
    assert records[6].error == "no 'text' field"
    assert records[7].text == "a\ufffdb" and records[7].n_replaced == 1  # lone surrogate escape
    assert (records[8].text, records[8].n_replaced) == ("\ufffd", 1)  # invalid UTF-8 byte: repaired, counted
    custom = list(read_jsonl_lines([b'{"doc": "x", "body": "b"}'], "in", text_field="body", id_field="doc"))
    assert (custom[0].id, custom[0].text, custom[0].meta) == ("x", "b", None)
    assert records[0].meta is None and next(read_jsonl_lines([b'{"text": "t", "k": 1}'], "in")).meta == {"k": 1}


def test_stdin_text_and_jsonl():
    (rec,) = read_inputs(["-"], stdin=io.BytesIO(b"Le patient\n"))
    assert (rec.id, rec.text) == ("stdin", "Le patient\n")
    recs = list(read_inputs(["-"], fmt="jsonl", stdin=io.BytesIO(b'{"text": "a"}\n{"text": "b"}\n')))
    assert [(r.id, r.text) for r in recs] == [("1", "a"), ("2", "b")]
    assert detect_format("x.JSONL") == "jsonl" and detect_format("-") == "txt"


def test_missing_input_raises_before_reading(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.txt"):
        list(read_inputs([str(tmp_path / "nope.txt")]))


def test_brat_fragments_split_at_line_breaks():
    text = "Une toux\r\n sèche\u2028 persistante"
    assert brat_fragments(text, 4, len(text)) == [(4, 8), (11, 16), (18, 29)]
    entities = [{"start": 4, "end": 16, "label": "DISO", "text": text[4:16], "score": 0.5},
                {"start": 8, "end": 10, "label": "DISO", "text": "\r\n", "score": None}]
    assert brat_lines(text, entities) == ["T1\tDISO 4 8;11 16\ttoux sèche", "#1\tAnnotatorNotes T1\tscore=0.5000"]


def _result(doc_id, text, entities=(), relpath=None, source=""):
    return Result(Record(id=doc_id, text=text, relpath=relpath, source=source), entities=list(entities))


def test_brat_writer_output_folder_mirrors_and_names_safely(tmp_path):
    ent = {"start": 3, "end": 9, "label": "DISO", "text": "fièvre", "score": None}
    with BratWriter(tmp_path / "out") as writer:
        writer.write(_result("sub/a", "Un\ufffdfièvre", [ent], relpath=Path("sub/a.txt")))
        writer.write(_result("../x y", "abc"))
        writer.write(_result("../x y", "def"))
        writer.write(Result(Record(id="bad"), error="no 'text' field"))
    out = tmp_path / "out"
    assert (out / "sub" / "a.txt").read_text(encoding="utf8") == "Un\ufffdfièvre"
    assert (out / "sub" / "a.ann").read_text(encoding="utf8") == "T1\tDISO 3 9\tfièvre\n"
    assert sorted(p.name for p in out.glob("x*")) == ["x_y-2.ann", "x_y-2.txt", "x_y.ann", "x_y.txt"]
    assert not list(out.glob("bad*"))


def test_brat_writer_next_to_txt(tmp_path):
    src = tmp_path / "doc.txt"
    src.write_text("abc")
    with BratWriter(None) as writer:
        writer.write(_result("doc", "abc", relpath=Path("doc.txt"), source=str(src)))
    assert (tmp_path / "doc.ann").read_text() == ""


def test_jsonl_writer_skips_errors_and_reports_replacements(tmp_path):
    path = tmp_path / "o.jsonl"
    with JsonlWriter(path, include_text=True) as writer:
        rec = Record(id="a", text="x\ufffd", n_replaced=1, meta={"patient": 7})
        writer.write(Result(rec, entities=[]))
        writer.write(Result(Record(id="b"), error="boom"))
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert rows == [{"id": "a", "text": "x\ufffd", "entities": [], "replaced_chars": 1, "meta": {"patient": 7}}]


def test_html_writer_limit_and_make_writer_errors(tmp_path):
    nlp = spacy.blank("fr")
    with HtmlWriter(tmp_path / "p.html", limit=2) as writer:
        for i in range(4):
            writer.write(Result(Record(id=f"doc{i}", text="x"), doc=nlp("x")))
    html = (tmp_path / "p.html").read_text()
    assert "doc0" in html and "doc1" in html and "doc2" not in html
    with pytest.raises(ValueError, match="needs --output"):
        make_writer("docbin", None)
    with pytest.raises(ValueError, match="Unknown output format"):
        make_writer("xml", tmp_path / "x")
