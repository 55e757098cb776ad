"""The reporting helper: versions, hardware and Markdown tables."""
import pytest
from wasabi import MarkdownRenderer

from spacy_cbio import about
from spacy_cbio.reporting import NER_LIBRARIES, hardware, library_versions, markdown_table


def test_markdown_table_is_wasabis_table():
    rows = [("quaero", 0.5), ("e3c", 12)]
    table = markdown_table(rows, ["dataset", "F1"], aligns="lr")
    assert table == MarkdownRenderer().table([["quaero", "0.5"], ["e3c", "12"]], ["dataset", "F1"], ["l", "r"])
    assert table.splitlines() == ["| dataset | F1 |", "| --- | ---: |", "| quaero | 0.5 |", "| e3c | 12 |"]


def test_markdown_table_without_rows_has_no_trailing_newline():
    assert markdown_table([], ["a", "b"]) == "| a | b |\n| --- | --- |"


def test_markdown_table_rejects_a_row_of_the_wrong_width():
    with pytest.raises(ValueError):
        markdown_table([("a", "b", "c")], ["x", "y"])
    with pytest.raises(ValueError):
        markdown_table([("a", "b")], ["x", "y"], aligns="l")


def test_versions_record_python_torch_and_spacy():
    versions = library_versions(NER_LIBRARIES)
    assert {"python", "torch", "spacy"} <= set(versions)
    assert versions["spacy"] != "not installed"
    assert library_versions(["no-such-distribution-xyz"])["no-such-distribution-xyz"] == "not installed"
    # the historical import path keeps working
    assert about.library_versions is library_versions and about.NER_LIBRARIES is NER_LIBRARIES


def test_hardware_names_cpu_cores_ram_and_gpus():
    found = hardware()
    assert set(found) == {"cpu", "cpu_cores", "ram_gb", "gpus"}
    assert isinstance(found["cpu"], str) and found["cpu"]
    assert isinstance(found["gpus"], list)
