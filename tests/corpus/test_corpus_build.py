import gzip
import json
import re
import subprocess
import sys
from pathlib import Path

import datasets
import pytest
import typer
from typer.testing import CliRunner

from corpus_scripts.build_corpus import build, build_corpus, compute_quotas, profile_max_words
from corpus_scripts.contamination import ContaminationIndex
from corpus_scripts.sources import SourceFormatError, read_e3c_layer3, read_sequoia_general, read_wmt
from spacy_cbio.data import heldout_texts

REPO = Path(__file__).resolve().parents[2]


def doc_ids(dataset):
    return set(zip(dataset["source"], dataset["doc_id"]))


@pytest.fixture(scope="module")
def built(mirror, tmp_path_factory):
    root, facts = mirror
    output = tmp_path_factory.mktemp("corpus") / "bio"
    app = typer.Typer()
    app.command()(build)
    result = CliRunner().invoke(
        app, ["--mirror", str(root), "--output", str(output), "--chunk-words", "50", "--shard-size", "40"]
    )
    assert result.exit_code == 0, result.output
    assert "| **total** |" in result.output
    return output, facts


def test_cli_builds_loadable_sharded_dataset(built):
    output, _ = built
    dataset = datasets.load_from_disk(str(output / "dataset"))
    assert set(dataset) == {"train", "validation"}
    assert set(dataset["train"].column_names) == {"text", "source", "doc_id"}
    assert not doc_ids(dataset["train"]) & doc_ids(dataset["validation"])
    assert len(dataset["validation"]) > 0
    assert all(len(t.split()) <= 50 for t in dataset["train"]["text"])
    assert len(list((output / "dataset" / "train").glob("*.arrow"))) == -(-len(dataset["train"]) // 40)
    streamed = next(iter(dataset["train"].to_iterable_dataset()))
    assert streamed["text"]


def test_removals_are_counted(built):
    output, facts = built
    stats = json.loads((output / "stats.json").read_text())
    dataset = datasets.load_from_disk(str(output / "dataset"))
    kept = {d for _, d in doc_ids(dataset["train"]) | doc_ids(dataset["validation"])}
    for planted in ("exact", "near", "contaminated", "short"):
        assert facts[planted] not in kept
    steps = stats["removal_steps"]
    assert steps["exact_duplicates"]["documents"] == 1
    assert steps["near_duplicates"]["documents"] == 1
    assert steps["contaminated"]["documents"] == 1
    assert stats["contamination"]["per_source"] == {"e3c_l3_notices": 1}
    assert stats["contamination"]["documents"]["e3c_l3_notices"] == [facts["contaminated"]]
    assert steps["cleaned_out"]["documents"] == 1
    assert steps["capped"].get("documents", 0) == 0
    total = stats["total"]["words"]
    assert total == sum(row["words"] for row in stats["sources"]) == sum(s["words"] for s in stats["splits"].values())
    assert stats["seed"] == 0 and "datasets" in stats["versions"]
    assert "| removed: near duplicates | 1 |" in (output / "stats.md").read_text()


def test_quaero_train_only_and_no_heldout_text(built, mirror):
    output, _ = built
    root, _ = mirror
    dataset = datasets.load_from_disk(str(output / "dataset"))
    quaero = {d for s, d in doc_ids(dataset["train"]) | doc_ids(dataset["validation"]) if s == "quaero_train"}
    assert quaero == {f"{sub}/{i}" for sub in ("EMEA", "MEDLINE") for i in range(3)}
    heldout = list(heldout_texts(root))
    assert {doc_id.split("/")[0] for doc_id, _ in heldout} == {"e3c", "quaero", "mantra"}
    # No chunk shares an 8-word passage with any held-out document (QUAERO dev/test included).
    index = ContaminationIndex(heldout, n=8, template_df=0)
    for text in list(dataset["train"]["text"]) + list(dataset["validation"]["text"]):
        assert index.matches(text) == 0, text[:80]


@pytest.mark.parametrize("cap", [3000, 800])
def test_max_words_respected_and_all_sources_represented(mirror, tmp_path, cap):
    root, _ = mirror
    extra = tmp_path / "extra" / "sub"
    extra.mkdir(parents=True)
    (extra / "a.txt").write_text("Un texte biomédical ajouté par l'utilisateur. " * 20, encoding="utf8")
    stats = build_corpus(root, tmp_path / "out", max_words=cap, extra_dirs=[tmp_path / "extra"], chunk_words=40)
    assert 0 < stats["total"]["words"] <= cap
    sources = {row["source"] for row in stats["sources"] if row["documents"] > 0}
    assert sources == {"e3c_l3_notices", "e3c_l3_pamj", "quaero_train", "wmt_medline", "wmt_scielo",
                       "wmt_edp", "wmt_test", "extra_extra"}
    assert stats["removal_steps"]["capped"]["words"] > 0
    again = build_corpus(root, tmp_path / "out2", max_words=cap, extra_dirs=[tmp_path / "extra"], chunk_words=40)
    assert again["sources"] == stats["sources"]  # deterministic


def test_general_corpus_excludes_emea_sentences(mirror, tmp_path):
    root, facts = mirror
    stats = build_corpus(root, tmp_path / "gen", general=True, chunk_words=60)
    assert {row["source"] for row in stats["sources"]} == {"eltec", "sequoia"}
    docs = [d for _, d, _ in read_sequoia_general(root)]
    assert docs and not any(facts["emea_prefix"] in d for d in docs)
    dataset = datasets.load_from_disk(str(tmp_path / "gen" / "dataset"))
    assert not doc_ids(dataset["train"]) & doc_ids(dataset["validation"])


def test_wmt_reader_splits_documents_and_drops_headings(mirror):
    root, _ = mirror
    docs = list(read_wmt(root))
    assert sum(1 for s, _, _ in docs if s == "wmt_medline") == 4
    assert sum(1 for s, _, _ in docs if s == "wmt_test") == 3
    assert not any("Abstract" in text or "Title" in text for _, _, text in docs)
    assert all(text.count("\n\n") == 1 for _, _, text in docs)


def test_quotas_sum_to_cap_and_cover_sources():
    sizes = {"big": 1_000_000, "mid": 5_000, "tiny": 30}
    quotas = compute_quotas(sizes, 10_000)
    assert sum(quotas.values()) <= 10_000
    assert quotas["tiny"] == 30 and quotas["mid"] >= 10_000 // 6
    assert all(quotas[s] <= sizes[s] for s in sizes)
    assert compute_quotas(sizes, 10**9) == sizes


def test_module_help_runs_from_the_project_root():
    result = subprocess.run(
        [sys.executable, "-m", "corpus_scripts.build_corpus", "--help"],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "--max-words" in result.stdout and "--extra-dir" in result.stdout


def test_bad_layer3_line_names_file_and_line(tmp_path):
    path = tmp_path / "e3c" / "layer3" / "e3c_fr_layer3.jsonl.gz"
    path.parent.mkdir(parents=True)
    with gzip.open(path, "wt") as fh:
        fh.write('{"id": "a", "source": "x", "text": "ok"}\n{"id": "b", "text": \n')
    with pytest.raises(SourceFormatError, match=r"e3c_fr_layer3.jsonl.gz:2"):
        list(read_e3c_layer3(tmp_path))


def test_profile_config_gives_the_word_cap(tmp_path):
    """`--config` reads the profile's [corpus] caps; a profile without them is a clear error."""
    cfg = tmp_path / "p.cfg"
    cfg.write_text("[corpus]\nmax_words = 1234\ngeneral_max_words = 99\n")
    assert profile_max_words(cfg, general=False) == 1234
    assert profile_max_words(cfg, general=True) == 99
    bad = tmp_path / "bad.cfg"
    bad.write_text("[training]\nmax_steps = 1\n")
    with pytest.raises(typer.BadParameter, match="no \\[corpus\\] max_words"):
        profile_max_words(bad, general=False)
    for line, expected in [('max_words = "2M"', r"\[corpus\] max_words: expected a valid integer, got '2M'"),
                           ("max_word = 10", r"\[corpus\] max_word: unknown key \(known: general_max_words, max_words\)")]:
        bad.write_text(f"[corpus]\n{line}\ngeneral_max_words = 0\n")
        with pytest.raises(typer.BadParameter, match=rf"{re.escape(str(bad))}: {expected}"):
            profile_max_words(bad, general=True)
