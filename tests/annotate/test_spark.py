"""``annotate_dataframe`` on Spark in local mode: the same entities as ``annotate`` on the same
texts, bad rows as error records, the pipeline loaded once per Python worker."""
from __future__ import annotations

import os
import sys

import pytest
import spacy

from spacy_cbio.annotate.pipe import annotate_records
from spacy_cbio.annotate.readers import Record
from spacy_cbio.annotate.spark import COLUMNS, annotate_dataframe

TEXTS = ["Le patient a une fièvre depuis hier . Il prend du paracétamol .", "Une toux sèche .", "",
         "Le médecin prescrit de l' amoxicilline contre la toux ."] * 3


@pytest.fixture(scope="module")
def spark():
    from pyspark.sql import SparkSession

    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    session = (SparkSession.builder.master("local[2]").appName("spacy-cbio-test")
               .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "2")
               .config("spark.sql.execution.arrow.maxRecordsPerBatch", "4")
               .config("spark.executorEnv.HF_HUB_OFFLINE", "1").getOrCreate())
    yield session
    session.stop()


def test_annotate_dataframe_matches_annotate(spark, pipeline_dir):
    rows = [(i, text) for i, text in enumerate(TEXTS)] + [(100, None)]
    df = spark.createDataFrame(rows, "note_id long, note string").repartition(2)
    out = annotate_dataframe(df, str(pipeline_dir), text_col="note", id_col="note_id")
    assert out.columns == list(COLUMNS)
    got = sorted((r.id, r.start, r.end, r.label, r.text, round(r.score, 4)) for r in out.collect() if r.error is None)
    nlp = spacy.load(pipeline_dir)
    expected = sorted((str(i), e["start"], e["end"], e["label"], e["text"], round(e["score"], 4))
                      for i, res in enumerate(annotate_records(nlp, [Record(id=str(i), text=t) for i, t in enumerate(TEXTS)]))
                      for e in res.entities)
    assert got == expected and len(got) > 0
    errors = [(r.id, r.error) for r in out.collect() if r.error is not None]
    assert errors == [("100", "null text")]  # a bad row is an error record, the job goes on
    # a partition with no entity at all (only empty texts and a null one) is still a valid batch
    blank = spark.createDataFrame([(1, ""), (2, None), (3, "  ")], "note_id long, note string").coalesce(1)
    rows = annotate_dataframe(blank, str(pipeline_dir), text_col="note", id_col="note_id").collect()
    assert [(r.id, r.error, r.start, r.label) for r in rows] == [("2", "null text", None, None)]


def test_each_process_loads_the_pipeline_once_for_all_its_batches(pipeline_dir, monkeypatch):
    import pandas

    from spacy_cbio.annotate import spark as spark_module

    loads = []
    monkeypatch.setattr(spark_module, "_PIPELINES", {})
    monkeypatch.setattr(spark_module, "load_pipeline", lambda model, gpu_id=-1: loads.append(model) or spacy.load(model))
    frames = [pandas.DataFrame({"id": ["a", "b"], "text": [TEXTS[0], None]}), pandas.DataFrame({"id": ["c"], "text": [TEXTS[1]]})]
    first = list(spark_module.annotate_frames(iter(frames), str(pipeline_dir)))
    second = list(spark_module.annotate_frames(iter(frames[:1]), str(pipeline_dir)))  # the next task, same worker
    assert loads == [str(pipeline_dir)]
    assert list(first[0]["id"]) == ["a", "a", "b"] and first[0]["error"].tolist()[-1] == "null text"
    assert first[0].equals(second[0])


def test_wrong_columns_are_clear_errors(spark, pipeline_dir):
    df = spark.createDataFrame([(1, 2)], "id long, text long")
    with pytest.raises(ValueError, match="column 'text' holds bigint, not strings"):
        annotate_dataframe(df, str(pipeline_dir))
    with pytest.raises(ValueError, match="no column 'note'"):
        annotate_dataframe(df, str(pipeline_dir), text_col="note")
