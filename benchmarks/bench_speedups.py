"""Two inference speed-ups of the trained pipelines, each measured alone, on every dataset's dev set.

  viterbi   ``cbio_token_ner`` decodes each document with the per-token argmax when that is
            already valid IOB2 (then it is also the best valid path) and runs the constrained
            Viterbi search only otherwise. Measured against Viterbi on every document: the
            decoding time, the whole pass, the share of documents that take the fast path, and
            whether any entity differs (none may).
  sorted    the caller sorts the texts by length before ``nlp.pipe`` and puts the results back
            in input order, so that each batch pads less. Measured on the dev set's sentences
            (a dev set is a few long documents, too few for batches to differ), against input
            order: words/s and the dev F1 (seqeval strict, IOB2) of both.

Each dataset's pipeline is ``training/ner/<profile>/<dataset>/model-best`` (the weights its
package ships), on ``corpus/ner/<dataset>/dev.spacy`` with the corpus tokenization, 1 torch
thread, batch 64, best of ``--rounds`` alternating rounds.

    python benchmarks/bench_speedups.py --profile small    # after `make all`
    # writes benchmarks/speedups.json and benchmarks/SPEEDUPS.md
"""
from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from flops import provenance

DATASETS = ("e3c", "emea", "medline", "quaero")


def ents(docs) -> List[List[Tuple[int, int, str]]]:
    return [[(e.start, e.end, e.label_) for e in doc.ents] for doc in docs]


def predict(nlp, references, batch_size: int, order: Optional[Sequence[int]] = None) -> Tuple[float, list]:
    """One pass of ``nlp`` over the references' tokens, in ``order`` (default: input order);
    RETURNS (seconds, predicted docs in input order)."""
    from spacy_cbio.evaluate.metrics import gold_token_doc

    order = list(order) if order is not None else list(range(len(references)))
    inputs = [gold_token_doc(nlp.vocab, references[i]) for i in order]
    start = time.perf_counter()
    done = list(nlp.pipe(inputs, batch_size=batch_size))
    seconds = time.perf_counter() - start
    predicted: List[Any] = [None] * len(references)
    for position, doc in zip(order, done):
        predicted[position] = doc
    return seconds, predicted


def strict_f1(predicted, references) -> float:
    from spacy.training import Example

    from spacy_cbio.evaluate.metrics import evaluate_examples

    examples = [Example(p, r) for p, r in zip(predicted, references)]
    return 100 * evaluate_examples(examples)["seqeval_strict_iob2"]["micro"]["f"]


def alternate(variants: Dict[str, Callable[[], Tuple[float, Any]]], rounds: int) -> Dict[str, Tuple[float, Any]]:
    """Each variant ``rounds`` times, alternating; RETURNS its best round's (seconds, output)."""
    best: Dict[str, Tuple[float, Any]] = {}
    for _ in range(rounds):
        for name, run in variants.items():
            seconds, out = run()
            if name not in best or seconds < best[name][0]:
                best[name] = (seconds, out)
    return best


def measure_viterbi(nlp, references, batch_size: int, rounds: int) -> Dict[str, Any]:
    """The argmax fast path against Viterbi on every document."""
    import spacy_cbio.components.token_ner as token_ner
    from spacy_cbio.train.calibrate import token_ner_name

    ner = nlp.get_pipe(token_ner_name(nlp))
    decode = type(ner).decode
    fast_path = token_ner.argmax_if_valid
    stats = {"decode_s": 0.0, "docs": 0, "fast": 0}

    def timed_decode(self, probs):
        start = time.perf_counter()
        out = decode(self, probs)
        stats["decode_s"] += time.perf_counter() - start
        return out

    def counting_fast_path(*args):
        found = fast_path(*args)
        stats["docs"] += 1
        stats["fast"] += found is not None
        return found

    def run(mode: str) -> Tuple[float, list]:
        token_ner.argmax_if_valid = counting_fast_path if mode == "fast" else (lambda *args: None)
        stats.update(decode_s=0.0, docs=0, fast=0)
        try:
            seconds, predicted = predict(nlp, references, batch_size)
        finally:
            token_ner.argmax_if_valid = fast_path
        return seconds, [predicted, dict(stats)]

    type(ner).decode = timed_decode
    try:
        best = alternate({"viterbi": lambda: run("viterbi"), "fast": lambda: run("fast")}, rounds)
    finally:
        type(ner).decode = decode
    (vit_s, (vit_docs, vit_stats)), (fast_s, (fast_docs, fast_stats)) = best["viterbi"], best["fast"]
    return {"pass_s": {"viterbi": round(vit_s, 3), "fast": round(fast_s, 3)},
            "decode_s": {"viterbi": round(vit_stats["decode_s"], 4), "fast": round(fast_stats["decode_s"], 4)},
            "decode_ratio": round(vit_stats["decode_s"] / max(fast_stats["decode_s"], 1e-9), 2),
            "pass_ratio": round(vit_s / fast_s, 3),
            "fast_path_share": round(fast_stats["fast"] / max(fast_stats["docs"], 1), 3),
            "entities_differ": sum(a != b for a, b in zip(ents(vit_docs), ents(fast_docs)))}


def sentences(references) -> list:
    """Each sentence of the references as a document of its own (with its gold entities: no
    entity crosses a sentence boundary in the converted corpora)."""
    return [sent.as_doc() for doc in references for sent in doc.sents]


def measure_sorted(nlp, references, batch_size: int, rounds: int) -> Dict[str, Any]:
    """Texts sorted by length before ``nlp.pipe`` against input order, on the sentences."""
    references = sentences(references)
    by_length = sorted(range(len(references)), key=lambda i: len(references[i]))
    best = alternate({"input": lambda: predict(nlp, references, batch_size),
                      "sorted": lambda: predict(nlp, references, batch_size, by_length)}, rounds)
    words = sum(len(doc) for doc in references)
    (in_s, in_docs), (so_s, so_docs) = best["input"], best["sorted"]
    f1_in, f1_so = strict_f1(in_docs, references), strict_f1(so_docs, references)
    return {"sentences": len(references), "words_per_s": {"input": round(words / in_s), "sorted": round(words / so_s)},
            "ratio": round(in_s / so_s, 3), "dev_f1": {"input": round(f1_in, 2), "sorted": round(f1_so, 2)},
            "dev_f1_change": round(f1_so - f1_in, 2),
            "entities_differ": sum(a != b for a, b in zip(ents(in_docs), ents(so_docs)))}


def markdown(report: Dict[str, Any]) -> str:
    from wasabi import MarkdownRenderer

    from spacy_cbio.reporting import markdown_table

    md = MarkdownRenderer()
    md.add(md.title(1, "Inference speed-ups, each measured alone"))
    machine = report["provenance"]["machine"]
    md.add(f"Generated by `{report['command']}` on {machine.get('cpu', 'this machine')} "
           f"({machine.get('cpu_cores', '?')} cores), commit `{report['provenance']['commit']}`. Each dataset's "
           f"trained pipeline on its dev set (corpus tokenization), {report['threads']} torch thread, batch "
           f"{report['batch_size']}, best of {report['rounds']} alternating rounds. Load average (1 min) "
           f"during the run: {report['load_average'][0]:.2f} to {report['load_average'][1]:.2f}.")
    md.add(md.title(2, "Argmax when it is valid IOB2, Viterbi otherwise (applied)"))
    md.add("The fast path returns the argmax only when it is a valid path, so no entity may change.")
    rows = [(f"`{d}`", r["docs"], f"{100 * r['viterbi']['fast_path_share']:.1f}%",
             r["viterbi"]["decode_s"]["viterbi"], r["viterbi"]["decode_s"]["fast"], f"{r['viterbi']['decode_ratio']}x",
             f"{r['viterbi']['pass_ratio']}x", r["viterbi"]["entities_differ"]) for d, r in report["datasets"].items()]
    md.add(markdown_table(rows, ["dev set", "docs", "fast path", "Viterbi decode s", "fast decode s", "decode ratio",
                                 "whole pass ratio", "docs whose entities differ"], "lrrrrrrr"))
    md.add(md.title(2, "Texts sorted by length before batching (not applied)"))
    md.add("On each dev set's sentences, each a text of its own.")
    rows = [(f"`{d}`", r["sorted"]["sentences"], f"{r['sorted']['words_per_s']['input']:,}", f"{r['sorted']['words_per_s']['sorted']:,}",
             f"{r['sorted']['ratio']}x", r["sorted"]["dev_f1"]["input"], r["sorted"]["dev_f1"]["sorted"],
             f"{r['sorted']['dev_f1_change']:+.2f}", r["sorted"]["entities_differ"]) for d, r in report["datasets"].items()]
    md.add(markdown_table(rows, ["dev set", "sentences", "words/s, input order", "words/s, sorted", "ratio",
                                 "dev F1, input order", "dev F1, sorted", "change", "sentences whose entities differ"],
                          "lrrrrrrrr"))
    md.add(report["verdict"])
    return md.text


def verdict(report: Dict[str, Any]) -> str:
    """What the figures say, from the figures."""
    rows = report["datasets"].values()
    pass_ratios = [r["viterbi"]["pass_ratio"] for r in rows]
    sort_ratios = [r["sorted"]["ratio"] for r in rows]
    changes = [r["sorted"]["dev_f1_change"] for r in rows]
    differ = sum(r["viterbi"]["entities_differ"] for r in rows)
    return (f"The argmax fast path changes the whole pass by {min(pass_ratios)}x to {max(pass_ratios)}x "
            f"({differ} documents with different entities). Sorting by length changes words/s by "
            f"{min(sort_ratios)}x to {max(sort_ratios)}x, and dev F1 by {min(changes):+.2f} to {max(changes):+.2f}.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", default="small", help="whose training/ner/<profile>/<dataset>/model-best to measure")
    parser.add_argument("--corpus", default="corpus/ner", help="converted DocBins: <corpus>/<dataset>/dev.spacy")
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS))
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds (the best is kept)")
    parser.add_argument("--out", default="benchmarks/speedups.json")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import spacy
    import torch
    from spacy.tokens import DocBin

    torch.set_num_threads(1)
    loads = [os.getloadavg()[0]]
    results: Dict[str, Any] = {}
    for dataset in args.datasets:
        model = Path("training/ner") / args.profile / dataset / "model-best"
        dev = Path(args.corpus) / dataset / "dev.spacy"
        if not model.is_dir() or not dev.is_file():
            raise SystemExit(f"{dataset}: no {model} or {dev}: run `make all` (profile {args.profile}) first")
        nlp = spacy.load(model)
        references = list(DocBin().from_disk(dev).get_docs(nlp.vocab))
        predict(nlp, references[:64], args.batch_size)  # warm-up
        print(f"{dataset}: {len(references)} dev documents", flush=True)
        results[dataset] = {"model": model.as_posix(), "docs": len(references),
                            "words": sum(len(doc) for doc in references),
                            "viterbi": measure_viterbi(nlp, references, args.batch_size, args.rounds),
                            "sorted": measure_sorted(nlp, references, args.batch_size, args.rounds)}
        loads.append(os.getloadavg()[0])
        print(f"{dataset}: {json.dumps({k: results[dataset][k] for k in ('viterbi', 'sorted')})}", flush=True)
    report = {"command": "python benchmarks/bench_speedups.py " + " ".join(
                  f"--{k.replace('_', '-')} {' '.join(v) if isinstance(v, list) else v}" for k, v in vars(args).items()
                  if v != parser.get_default(k)),
              "provenance": provenance(), "threads": 1, "batch_size": args.batch_size, "rounds": args.rounds,
              "load_average": [min(loads), max(loads)], "datasets": results}
    report["command"] = report["command"].strip()
    report["verdict"] = verdict(report)
    out = Path(args.out)
    out.write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n", encoding="utf8")
    out.with_name("SPEEDUPS.md").write_text(markdown(report) + "\n", encoding="utf8")
    print(f"wrote {out} and {out.with_name('SPEEDUPS.md')}")


if __name__ == "__main__":
    main()
