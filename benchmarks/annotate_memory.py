"""Peak RSS of annotating N short documents: streaming `annotate` against holding every Doc.

    python benchmarks/annotate_memory.py MODEL stream 100000
    python benchmarks/annotate_memory.py MODEL hold 20000

MODEL: a pipeline folder or package (e.g. training/ner/small/quaero/model-best). Modes:
stream (annotate_records with the trf_data cleaner, output to /dev/null), stream_nocleaner,
hold (list(nlp.pipe(texts)), transformer output kept), hold_cleaned. One torch thread.
Each document text carries its number, so every document adds new strings to the
vocabulary: that, not the documents, is what grows while streaming.
"""
import resource
import sys
import time
from pathlib import Path

import spacy
import torch

from spacy_cbio.annotate.pipe import add_trf_cleaner, annotate_records
from spacy_cbio.annotate.readers import Record
from spacy_cbio.annotate.writers import JsonlWriter

BASE = ["Le patient a une fièvre depuis hier .", "Il prend du paracétamol contre la toux .", "Aucun effet indésirable ."]


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(model: str, mode: str, n: int) -> None:
    torch.set_num_threads(1)
    nlp = spacy.load(model)
    nlp(BASE[0])
    before, start = peak_rss_mib(), time.time()
    records = (Record(id=str(i), text=f"{BASE[i % 3]} ({i})") for i in range(n))
    if mode.startswith("stream"):
        if mode == "stream":
            add_trf_cleaner(nlp)
        with JsonlWriter(Path("/dev/null")) as writer:
            for result in annotate_records(nlp, records, batch_size=32):
                writer.write(result)
    elif mode.startswith("hold"):
        if mode == "hold_cleaned":
            add_trf_cleaner(nlp)
        docs = list(nlp.pipe((r.text for r in records), batch_size=32))
        print("trf_data kept:", docs[0]._.trf_data is not None)
    else:
        sys.exit(__doc__)
    print(f"{mode} n={n}: peak RSS before {before:.0f} MiB, after {peak_rss_mib():.0f} MiB, {time.time() - start:.0f} s")


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
