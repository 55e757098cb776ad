"""sample_mirror: the same layout, the first documents of each folder, archives cut."""
from __future__ import annotations

import gzip

import pytest

from spacy_cbio.data.testing import sample_mirror


def test_keeps_whole_documents_and_layout(tmp_path):
    source = tmp_path / "mirror"
    brat = source / "quaero" / "corpus" / "train" / "EMEA"
    brat.mkdir(parents=True)
    for i in range(10):
        (brat / f"doc{i:02d}.txt").write_text(f"texte {i}", encoding="utf8")
        (brat / f"doc{i:02d}.ann").write_text("", encoding="utf8")
    small = source / "wmt"
    small.mkdir()
    for name in ("edp_d1.fr", "edp_d1_id.fr"):  # two documents: both kept
        (small / name).write_text("x", encoding="utf8")
    archive = source / "e3c" / "layer3" / "e3c_fr_layer3.jsonl.gz"
    archive.parent.mkdir(parents=True)
    with gzip.open(archive, "wt", encoding="utf8") as out:
        out.writelines(f'{{"id": {i}}}\n' for i in range(50))

    dest = tmp_path / "sample"
    counts = sample_mirror(source, dest, max_docs=3, max_lines=7)
    assert counts["docs_kept"] == 3 + 2 + 1 and counts["docs_left_out"] == 7 and counts["archives_cut"] == 1
    kept = sorted(p.name for p in (dest / "quaero" / "corpus" / "train" / "EMEA").iterdir())
    assert kept == ["doc00.ann", "doc00.txt", "doc01.ann", "doc01.txt", "doc02.ann", "doc02.txt"]
    assert (dest / "quaero" / "corpus" / "train" / "EMEA" / "doc01.txt").read_text(encoding="utf8") == "texte 1"
    assert sorted(p.name for p in (dest / "wmt").iterdir()) == ["edp_d1.fr", "edp_d1_id.fr"]
    with gzip.open(dest / "e3c" / "layer3" / "e3c_fr_layer3.jsonl.gz", "rt", encoding="utf8") as lines:
        assert [line.strip() for line in lines] == [f'{{"id": {i}}}' for i in range(7)]
    assert archive.stat().st_size > 0  # the source is left alone


def test_missing_mirror_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no data mirror"):
        sample_mirror(tmp_path / "absent", tmp_path / "sample")
