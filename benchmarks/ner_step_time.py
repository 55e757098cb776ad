"""Seconds per NER training step of feature variants, side by side in one process.

    python benchmarks/ner_step_time.py corpus/ner/emea training/pretrain/small/model \
        training/vectors/small/bio transformer stacked96x4 stacked96x4_frozen

Each variant: the small profile's config with the variant's overrides, initialised on the
dataset's train DocBin; 2 warm-up updates, then the mean of 10 `nlp.update` calls on
batches of the profile's size (16 chunks of <= 128 tokens), and the time to evaluate 40 dev
documents. Ratios between variants of one run are what count: other jobs on the machine
slow every variant alike.
"""
from __future__ import annotations

import itertools
import json
import sys
import time

from spacy import util
from spacy.training.initialize import init_nlp
from thinc.api import fix_random_seed

from spacy_cbio.train.config import assemble_config

STATIC = "components.ner.model.tok2vec.static"
FROZEN = {"training.frozen_components": ["transformer"], "training.annotating_components": ["transformer"]}
UNFROZEN = {"training.frozen_components": [], "training.annotating_components": []}
VARIANTS = {
    "transformer": {"cbio.features": "transformer", **UNFROZEN},
    "stacked256x8": {"cbio.features": "stacked", "cbio.static_width": 256, "cbio.static_depth": 8, **UNFROZEN},
    "stacked96x4": {"cbio.features": "stacked", "cbio.static_width": 96, "cbio.static_depth": 4, **UNFROZEN},
    "stacked256x8_frozen": {"cbio.features": "stacked", "cbio.static_width": 256, "cbio.static_depth": 8, **FROZEN},
    "stacked96x4_frozen": {"cbio.features": "stacked", "cbio.static_width": 96, "cbio.static_depth": 4, **FROZEN},
}


def time_variant(name: str, base: dict, n_steps: int = 10) -> dict:
    config = assemble_config("small", "token", {**base, **VARIANTS[name]})
    fix_random_seed(0)
    nlp = init_nlp(config)
    interpolated = nlp.config.interpolate()
    training = util.registry.resolve(interpolated["training"])
    train_corpus, dev_corpus = util.resolve_dot_names(interpolated, [training["train_corpus"], training["dev_corpus"]])
    batches = itertools.cycle(list(training["batcher"](list(train_corpus(nlp)))))
    times = []
    for _ in range(n_steps + 2):
        batch = next(batches)
        start = time.perf_counter()
        nlp.update(batch, sgd=training["optimizer"], drop=0.1, exclude=training["frozen_components"],
                   annotates=training["annotating_components"])
        times.append(time.perf_counter() - start)
    dev = list(dev_corpus(nlp))[:40]
    start = time.perf_counter()
    nlp.evaluate(dev)
    return {"variant": name, "s_per_step": round(sum(times[2:]) / n_steps, 3),
            "dev40_eval_s": round(time.perf_counter() - start, 2)}


def main(argv) -> None:
    if len(argv) < 4:
        sys.exit(__doc__)
    corpus, transformer, vectors, *names = argv
    base = {"paths.train": f"{corpus}/train.spacy", "paths.dev": f"{corpus}/dev.spacy",
            "paths.transformer": transformer, "paths.vectors": vectors}
    for name in names or list(VARIANTS):
        print(json.dumps(time_variant(name, base)), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
