"""annotate on a tiny trained pipeline: CLI outputs, odd input, bad documents, bad models, offsets."""
from __future__ import annotations

import json
import shutil
import warnings

import pytest
import spacy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from spacy.tokens import DocBin
from typer.testing import CliRunner

from spacy_cbio.__main__ import app
from spacy_cbio.annotate.cli import run_annotate
from spacy_cbio.annotate.pipe import (CLEANER_NAME, ModelLoadError, add_trf_cleaner, annotate_records,
                                     ends_with_trf_cleaner, load_pipeline)
from spacy_cbio.annotate.readers import Record
from spacy_cbio.annotate.writers import JsonlWriter

TEXT = "Le patient a une fièvre depuis hier . Il prend du paracétamol ."
BOOM = "BOOM"  # what the cbio_test_boom component (tests/conftest.py) fails on


@pytest.fixture(scope="module")
def clean_nlp(pipeline_dir):
    nlp = spacy.load(pipeline_dir)
    add_trf_cleaner(nlp)
    return nlp


def _check_offsets(text, entities):
    for ent in entities:
        assert 0 <= ent["start"] < ent["end"] <= len(text)
        assert text[ent["start"] : ent["end"]] == ent["text"]
        assert ent["text"] == ent["text"].strip()


def _annotate(nlp, texts, **kwargs):
    records = [Record(id=str(i), text=t) for i, t in enumerate(texts)]
    return list(annotate_records(nlp, records, **kwargs))


def _cli(*args):
    result = CliRunner().invoke(app, ["annotate", *map(str, args)])
    return result


# -- outputs -------------------------------------------------------------------
def test_cli_jsonl_entities_scores_and_summary(pipeline_dir, tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.txt").write_text(TEXT, encoding="utf8")
    out = tmp_path / "out.jsonl"
    result = _cli(pipeline_dir, tmp_path / "in", "-o", out, "--include-text", "--summary", tmp_path / "s.json", "--no-progress")
    assert result.exit_code == 0, result.output
    (row,) = [json.loads(line) for line in out.read_text().splitlines()]
    assert row["id"] == "a" and row["text"] == TEXT
    assert [(e["text"], e["label"]) for e in row["entities"]] == [("fièvre", "DISO"), ("paracétamol", "CHEM")]
    assert all(0.0 < e["score"] <= 1.0 for e in row["entities"])
    _check_offsets(TEXT, row["entities"])
    summary = json.loads((tmp_path / "s.json").read_text())
    assert summary["n_docs"] == 1 and summary["entities_by_label"] == {"CHEM": 1, "DISO": 1}


def test_scores_are_mean_tag_probabilities(nlp):
    doc = nlp(TEXT)
    ner = nlp.get_pipe("ner")
    # the pipeline's trf_cleaner dropped doc._.trf_data: the NER reads a fresh transformer pass
    probs = ner.predict([nlp.get_pipe("transformer")(nlp.make_doc(TEXT))])[0]
    _, tag_probs = ner.decode(probs)
    for ent in doc.ents:
        assert ent._.score == pytest.approx(float(tag_probs[ent.start : ent.end].mean()), rel=1e-5)


def test_cli_brat_docbin_html(pipeline_dir, tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    (src / "a.txt").write_text(TEXT, encoding="utf8")
    (src / "b.txt").write_text("Une toux sèche .", encoding="utf8")
    assert _cli(pipeline_dir, src, "-f", "brat", "--no-progress").exit_code == 0
    assert (src / "a.ann").read_text(encoding="utf8").startswith("T1\tDISO 17 23\tfièvre\n#1\tAnnotatorNotes T1\tscore=")
    assert _cli(pipeline_dir, src / "a.txt", "-f", "docbin", "-o", tmp_path / "o.spacy", "--no-progress").exit_code == 0
    (doc,) = DocBin().from_disk(tmp_path / "o.spacy").get_docs(spacy.blank("fr").vocab)
    assert doc.text == TEXT and doc.user_data["id"] == "a" and len(doc.ents) == 2
    assert _cli(pipeline_dir, src, "-f", "html", "-o", tmp_path / "p.html", "--html-limit", "1", "--no-progress").exit_code == 0
    html = (tmp_path / "p.html").read_text(encoding="utf8")
    assert "fièvre" in html and "toux" not in html


def test_trained_pipelines_end_with_a_trf_cleaner_and_annotate_adds_none(pipeline_dir):
    nlp = spacy.load(pipeline_dir)
    assert nlp.pipe_names[-1] == "trf_cleaner" and ends_with_trf_cleaner(nlp)
    assert not add_trf_cleaner(nlp) and CLEANER_NAME not in nlp.pipe_names
    docs = list(nlp.pipe([TEXT, "Une toux ."]))
    assert all(doc._.trf_data is None for doc in docs) and len(docs[0].ents) == 2
    # a pipeline without one (trained before it was in base.cfg, or with it excluded) gets one
    bare = spacy.load(pipeline_dir, exclude=["trf_cleaner"])
    assert not ends_with_trf_cleaner(bare) and bare(TEXT)._.trf_data is not None
    assert add_trf_cleaner(bare) and bare.pipe_names[-1] == CLEANER_NAME and bare(TEXT)._.trf_data is None


def test_trf_data_dropped_and_labels_are_the_pipelines(clean_nlp):
    assert ends_with_trf_cleaner(clean_nlp)
    results = _annotate(clean_nlp, [TEXT, "Le médecin prescrit de l' amoxicilline contre la toux ."])
    for res in results:
        assert res.doc._.trf_data is None
        assert {e["label"] for e in res.entities} <= set(clean_nlp.get_pipe("ner").labels)


# -- odd input -----------------------------------------------------------------
ODD_TEXTS = {
    "empty": "",
    "whitespace": "  \n\t \r\n ",
    "no_spaces": "Lepatientaunefièvreetprenddel'amoxicilline" * 20,
    "control_zero_width": "Le\u200b patient\x00 a\x07 une\u200d fièvre\ufeff .\x1b[0m\u00ad paracétamol\u2060 .",
    "mixed_scripts_emoji": "Le patient 患者 a une fièvre 🤒🔥 ; حمى ; лихорадка ; paracétamol 💊 👩🏽‍⚕️ .",
    "crlf": "Le patient a une fièvre .\r\n\r\nIl prend du paracétamol .\r\n",
    "combining": "La fie\u0300vre de\u0301passe 39 °C ; parace\u0301tamol .",
}


@pytest.mark.parametrize("name", sorted(ODD_TEXTS))
def test_odd_texts_get_a_result_with_exact_offsets(clean_nlp, name):
    text = ODD_TEXTS[name]
    (res,) = _annotate(clean_nlp, [text])
    assert res.error is None and res.doc.text == text
    _check_offsets(text, res.entities)
    if not text.strip():
        assert res.entities == []


def test_long_document_100k_chars(clean_nlp):
    text = ("Le patient a une fièvre depuis hier . Il prend du paracétamol . " * 1800)[:110_000]
    (res,) = _annotate(clean_nlp, [text])
    assert res.error is None and len(res.record.text) == 110_000
    _check_offsets(text, res.entities)
    assert len(res.entities) > 1000
    (res,) = _annotate(clean_nlp, [text], max_length=50_000)
    assert res.error.startswith("text too long (110000 characters > max length 50000")


def test_invalid_utf8_repaired_counted_and_written_with_its_offsets(pipeline_dir, tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    (src / "bad.txt").write_bytes("Le patient a une \xff\xfe fièvre .".encode("utf8").replace(b"\xc3\xbf\xc3\xbe", b"\xff\xfe"))
    result = _cli(pipeline_dir, src, "-f", "brat", "-o", tmp_path / "out", "--summary", tmp_path / "s.json", "--no-progress")
    assert result.exit_code == 0, result.output
    text = (tmp_path / "out" / "bad.txt").read_text(encoding="utf8")
    assert text == "Le patient a une \ufffd\ufffd fièvre ."
    for line in (tmp_path / "out" / "bad.ann").read_text(encoding="utf8").splitlines():
        if line.startswith("T"):
            _, label_offsets, covered = line.split("\t")
            _, start, end = label_offsets.split(" ")
            assert text[int(start) : int(end)] == covered
    summary = json.loads((tmp_path / "s.json").read_text())
    assert summary["n_replaced_chars"] == 2 and summary["n_docs_with_replaced_chars"] == 1
    assert "invalid UTF-8: 2 replacement characters" in result.output


def test_bad_jsonl_lines_counted_named_and_run_continues(pipeline_dir, tmp_path):
    data = tmp_path / "in.jsonl"
    data.write_text('{"id": "a", "body": "Il a une fièvre ."}\n{oops\n{"id": "c"}\n{"body": "Une toux ."}\n', encoding="utf8")
    out = tmp_path / "o.jsonl"
    result = _cli(pipeline_dir, data, "--text-field", "body", "-o", out, "--summary", tmp_path / "s.json", "--no-progress")
    assert result.exit_code == 0, result.output
    assert [json.loads(line)["id"] for line in out.read_text().splitlines()] == ["a", "4"]
    assert f"skipped {data}:2 (id 2): not valid JSON" in result.output
    assert f"skipped {data}:3 (id c): no 'body' field" in result.output
    summary = json.loads((tmp_path / "s.json").read_text())
    assert summary["n_errors"] == 2 and summary["errors_by_kind"] == {"no 'body' field": 1, "not valid JSON": 1}
    assert [e["where"] for e in summary["errors"]] == [f"{data}:2", f"{data}:3"]


@pytest.mark.parametrize("n_process", [1, 2])
def test_component_error_loses_only_the_bad_document(pipeline_dir, n_process):
    nlp = spacy.load(pipeline_dir)
    nlp.add_pipe("cbio_test_boom")
    add_trf_cleaner(nlp)
    texts = [TEXT, f"{BOOM} fièvre", "Une toux .", TEXT, f"{BOOM}", "fin ."]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # W127: a worker exited non-zero (n_process=2)
        results = _annotate(nlp, texts, batch_size=2, n_process=n_process)
    assert [r.record.text for r in results] == texts
    assert [r.error is None for r in results] == [True, False, True, True, False, True]
    assert results[1].error == "pipeline failed: RuntimeError: boom in this document"
    assert [e["text"] for e in results[2].entities] == ["toux"]
    # the error handlers are restored afterwards
    with pytest.raises(RuntimeError):
        nlp(BOOM)


def test_run_annotate_counts_everything(clean_nlp, tmp_path):
    data = tmp_path / "in.jsonl"
    data.write_text('{"text": ""}\n{"text": "fièvre"}\nnope\n', encoding="utf8")
    summary = run_annotate(clean_nlp, [str(data)], JsonlWriter(tmp_path / "o.jsonl"), progress=False)
    assert (summary.n_docs, summary.n_annotated, summary.n_empty, summary.n_errors) == (3, 2, 1, 1)
    assert "documents: 3 read, 2 annotated (1 empty), 1 skipped" in summary.format()


# -- bad models ----------------------------------------------------------------
def _broken_copy(pipeline_dir, tmp_path, how):
    bad = tmp_path / how
    shutil.copytree(pipeline_dir, bad)
    if how == "truncated":
        data = (bad / "transformer" / "model").read_bytes()
        (bad / "transformer" / "model").write_bytes(data[: len(data) // 2])
    elif how == "corrupt":
        size = (bad / "ner" / "model").stat().st_size
        (bad / "ner" / "model").write_bytes(bytes(range(256)) * (size // 256 + 1))
    elif how == "no_component":
        shutil.rmtree(bad / "transformer")
    elif how == "no_config":
        (bad / "config.cfg").unlink()
    elif how == "empty_file":
        (bad / "ner" / "model").write_bytes(b"")
    elif how == "bad_meta":
        (bad / "meta.json").write_text("{")
    return bad


@pytest.mark.parametrize("how,expected", [
    ("truncated", "cannot load the pipeline while reading transformer/model; the folder may be truncated or corrupt"),
    ("corrupt", "cannot load the pipeline while reading ner"),
    ("no_component", "missing transformer/model"),
    ("no_config", "missing config.cfg"),
    ("empty_file", "ner/model is empty"),
    ("bad_meta", "meta.json: not valid JSON"),
])
def test_broken_model_dir_one_line_error(pipeline_dir, tmp_path, how, expected):
    bad = _broken_copy(pipeline_dir, tmp_path, how)
    with pytest.raises(ModelLoadError) as info:
        load_pipeline(str(bad))
    assert str(bad) in str(info.value) and expected in str(info.value) and "\n" not in str(info.value)
    (tmp_path / "a.txt").write_text("x")
    result = _cli(bad, tmp_path / "a.txt", "--no-progress")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert f"annotate: {bad}" in result.output and expected in result.output


def test_missing_model_and_input(pipeline_dir, tmp_path):
    (tmp_path / "a.txt").write_text("x")
    result = _cli(tmp_path / "nothere", tmp_path / "a.txt")
    assert result.exit_code == 1 and "no such model directory" in result.output
    with pytest.raises(ModelLoadError, match="cannot load model 'fr_no_such_package'"):
        load_pipeline("fr_no_such_package")
    result = _cli(pipeline_dir, tmp_path / "nope.txt")
    assert result.exit_code == 1 and "input not found" in result.output
    result = _cli(pipeline_dir, "-", "-f", "brat")
    assert result.exit_code == 1 and "needs --output" in result.output


# -- offsets property ----------------------------------------------------------
FRENCH_WORDS = ["Le", "patient", "présente", "une", "fièvre", "paracétamol", "amoxicilline", "toux", "sèche",
                "l'", "aujourd'hui", "39,5", "°C", "mg/kg", "(", ")", ".", ";", "«", "»", "—", "œdème"]
ODD_CHARS = ["\u200b", "\u200d", "\ufeff", "\x00", "\x07", "\r\n", "\n", "\t", "\u00a0", "\u2028", "\ufffd",
             "🤒", "👩🏽‍⚕️", "患", "ح", "e\u0301", "\U0001d400", "  "]
pieces = st.one_of(st.sampled_from(FRENCH_WORDS), st.sampled_from(ODD_CHARS), st.text(max_size=4))
texts = st.lists(st.tuples(pieces, st.sampled_from(["", " ", "  ", "\n"])), max_size=25).map(
    lambda parts: "".join(a + b for a, b in parts)
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batch=st.lists(texts, min_size=1, max_size=4))
def test_offsets_point_at_the_input_text(clean_nlp, batch):
    results = _annotate(clean_nlp, batch, batch_size=3)
    assert [r.record.text for r in results] == batch
    for res in results:
        assert res.error is None, res.error
        _check_offsets(res.record.text, res.entities)


def test_reader_failing_midway_is_an_error_after_what_was_read(clean_nlp):
    """A reader that fails (I/O error mid-file) must not end the run quietly as if the input were done."""
    from spacy_cbio.annotate.pipe import InputReadError

    def records():
        for i in range(5):
            if i == 2:
                raise OSError("disk went away")
            yield Record(id=str(i), text=TEXT)

    results = []
    with pytest.raises(InputReadError, match="after 2 document.*disk went away"):
        for result in annotate_records(clean_nlp, records(), batch_size=4):
            results.append(result)
    assert [r.record.id for r in results] == ["0", "1"] and all(r.error is None for r in results)


def test_cli_parquet_in_parquet_out_matches_jsonl(pipeline_dir, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    texts = [TEXT, "Le médecin prescrit de l' amoxicilline contre la toux .", None]
    pq.write_table(pa.table({"note_id": ["n1", "n2", "n3"], "body": texts}), tmp_path / "notes.parquet")
    args = (tmp_path / "notes.parquet", "--text-field", "body", "--id-field", "note_id", "--no-progress")
    result = _cli(pipeline_dir, *args, "-f", "parquet", "-o", tmp_path / "ents.parquet", "--summary", tmp_path / "s.json")
    assert result.exit_code == 0, result.output
    rows = pq.read_table(tmp_path / "ents.parquet").to_pylist()
    assert _cli(pipeline_dir, *args, "-o", tmp_path / "ents.jsonl").exit_code == 0
    expected = [{"id": row["id"], **ent} for row in map(json.loads, (tmp_path / "ents.jsonl").read_text().splitlines())
                for ent in row["entities"]]
    assert rows == expected and {row["id"] for row in rows} == {"n1", "n2"}
    summary = json.loads((tmp_path / "s.json").read_text())
    assert summary["n_docs"] == 3 and summary["errors"] == [{"id": "n3", "where": f"{tmp_path / 'notes.parquet'}:3",
                                                             "error": "null 'body'"}]
    bad = _cli(pipeline_dir, tmp_path / "notes.parquet", "-o", tmp_path / "x.jsonl", "--no-progress")
    assert bad.exit_code == 1 and "no column 'text' (columns: note_id, body); set --text-field" in bad.output
