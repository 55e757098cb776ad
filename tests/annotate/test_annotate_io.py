"""annotate readers and writers, without a model: decoding, JSONL problems, BRAT fragments, names."""
from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
import spacy

from spacy_cbio.annotate.pipe import Result
from spacy_cbio.annotate.readers import Record, decode_utf8, detect_format, read_inputs, read_jsonl_lines, read_parquet
from spacy_cbio.annotate.writers import (ENTITY_COLUMNS, BratWriter, HtmlWriter, JsonlWriter, ParquetWriter, brat_fragments,
                                         brat_lines, make_writer)


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


def _parquet(path, **columns):
    import pyarrow as pa
    import pyarrow.parquet as pq

    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table(columns), path, row_group_size=2)
    return path


def test_parquet_rows_in_batches_ids_nulls_and_part_folders(tmp_path):
    table = tmp_path / "notes.parquet"
    _parquet(table, note_id=[10, None, 12, 13, 14], body=[b"Une toux .", "fièvre".encode(), None, b"", b"Bonjour \xff"],
             extra=[1, 2, 3, 4, 5])  # a binary column, with an invalid UTF-8 byte
    assert detect_format(str(table)) == "parquet"
    records = list(read_parquet(table, text_field="body", id_field="note_id", batch_rows=2))
    assert [r.id for r in records] == ["10", "2", "12", "13", "14"]  # a null id: the row number
    assert [r.text for r in records] == ["Une toux .", "fièvre", "", "", "Bonjour \ufffd"]
    assert records[2].error == "null 'body'" and records[2].where == f"{table}:3"
    assert records[4].n_replaced == 1 and all(r.meta is None for r in records)
    # a warehouse export: a folder of part files, read in name order
    _parquet(tmp_path / "export" / "part-1.parquet", text=["b"])
    _parquet(tmp_path / "export" / "part-0.parquet", text=["a"])
    assert [(r.id, r.text) for r in read_inputs([str(tmp_path / "export")], fmt="parquet")] == [("1", "a"), ("1", "b")]


@pytest.mark.parametrize("columns,message", [
    ({"body": ["x"]}, "no column 'text' (columns: body); set --text-field"),
    ({"text": [1, 2]}, "column 'text' holds int64, not strings"),
])
def test_parquet_without_a_text_column_is_a_clear_error(tmp_path, columns, message):
    path = _parquet(tmp_path / "t.parquet", **columns)
    with pytest.raises(ValueError, match=re.escape(f"{path}: {message}")):
        list(read_inputs([str(path)]))
    (tmp_path / "fake.parquet").write_text("not parquet")
    with pytest.raises(ValueError, match="not a readable Parquet file"):
        list(read_inputs([str(tmp_path / "fake.parquet")]))


def test_parquet_writer_one_row_per_entity(tmp_path):
    import pyarrow.parquet as pq

    ents = [{"start": 4, "end": 8, "label": "DISO", "text": "toux", "score": 0.9},
            {"start": 11, "end": 17, "label": "DISO", "text": "fièvre", "score": None}]
    out = tmp_path / "out" / "ents.parquet"
    with ParquetWriter(out, rows_per_group=1) as writer:
        writer.write(_result("a", "Une toux et fièvre", ents))
        writer.write(_result("b", "rien"))
        writer.write(Result(Record(id="c"), error="null 'text'"))
        writer.write(_result("d", "toux", [{**ents[0], "start": 0, "end": 4}]))
    table = pq.read_table(out)
    assert table.column_names == list(ENTITY_COLUMNS) and pq.ParquetFile(out).num_row_groups == 2
    assert table.to_pylist() == [{"id": "a", **ents[0]}, {"id": "a", **ents[1]}, {"id": "d", **ents[0], "start": 0, "end": 4}]
    with ParquetWriter(tmp_path / "empty.parquet"):
        pass
    assert pq.read_table(tmp_path / "empty.parquet").num_rows == 0  # a valid file, its columns typed
    assert isinstance(make_writer("parquet", tmp_path / "m.parquet"), ParquetWriter)
