"""One build on the real data mirror with a small cap."""
import json

import datasets
import pytest

from corpus_scripts.build_corpus import build_corpus


@pytest.fixture(scope="module")
def real_build(tmp_path_factory, data_root):
    output = tmp_path_factory.mktemp("real") / "small"
    build_corpus(data_root, output, max_words=20_000)
    return output


def test_real_small_corpus(real_build):
    stats = json.loads((real_build / "stats.json").read_text())
    assert 0 < stats["total"]["words"] <= 20_000
    assert stats["input_total"]["documents"] > 30_000  # layer 3 + WMT + QUAERO train were read
    represented = {row["source"] for row in stats["sources"] if row["documents"] > 0}
    assert {"e3c_l3_notices", "e3c_l3_pamj", "quaero_train", "wmt_medline", "wmt_test"} <= represented
    assert stats["heldout_documents"] == {"e3c": 249, "quaero": 1692, "mantra": 250}
    dataset = datasets.load_from_disk(str(real_build / "dataset"))
    train = set(zip(dataset["train"]["source"], dataset["train"]["doc_id"]))
    validation = set(zip(dataset["validation"]["source"], dataset["validation"]["doc_id"]))
    assert validation and not train & validation
