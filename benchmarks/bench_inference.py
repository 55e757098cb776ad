"""CPU inference benchmark of the spacy-cbio NER pipeline, everything in one run.

Same texts (real French biomedical text: QUAERO EMEA test documents, split into lines of at
most --max-words words), same batch size, same torch threads for every system:

  spacy_trf   spaCy pipeline: spacy-transformers + ``cbio_token_ner`` on the small-profile encoder
  hf          transformers ``pipeline("token-classification", aggregation_strategy="simple")`` on
              the same encoder weights, a head of the same size (num_labels = the spaCy tags)
              holding the spaCy head's weights
  hf_fewer    the same with the O logit raised by --hf-o-bias: about as many entities as spaCy
  spacy_cnn   spaCy's CNN NER baseline (``cnn.cfg`` of the project, no static vectors)

Each system runs in its own subprocess (peak RSS per system), in alternating rounds so
that other load on the machine hits all of them alike; words/s is the best pass. Then:
a FLOP bound for the encoder (torch matmul GFLOP/s measured here), the time split of the
spaCy pipeline (tokenizer / transformer: HF forward vs the rest / head) against the HF
pipeline's (forward vs the rest), and ``spacy-cbio annotate`` end to end on a folder of .txt.
The spaCy pipeline's head is trained briefly (--train-steps, encoder frozen as in the small profile)
and copied into the HF head, so both decode the same probabilities; the CNN is only
initialised (its transition parser's cost depends little on the weights).

    .venv/bin/python benchmarks/bench_inference.py            # writes benchmarks/results.json
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List

from flops import forward_timer, matmul_gflops
from spacy_cbio.components.quantize import hf_model
from spacy_cbio.package.measure import peak_rss_mib

REPO = Path(__file__).resolve().parents[1]


# The project's outputs for profile small (`make all`): the pretrained encoder and the EMEA DocBins.
DEFAULT_ENCODER = REPO / "training" / "pretrain" / "small" / "model"
DEFAULT_CORPUS = REPO / "corpus" / "ner" / "emea"
DEFAULT_DATA = REPO / ".." / "shared" / "data"
SYSTEMS = ("spacy_trf", "hf", "hf_fewer", "spacy_cnn")


# -- texts -----------------------------------------------------------------------
def load_texts(data: Path, max_words: int, total_words: int) -> List[str]:
    """Non-empty lines of the QUAERO EMEA test documents, cut to <= max_words words, up to total_words."""
    texts: List[str] = []
    n = 0
    for path in sorted((data / "quaero" / "corpus" / "test" / "EMEA").glob("*.txt")):
        for line in path.read_text(encoding="utf8").splitlines():
            words = line.split()
            for i in range(0, len(words), max_words):
                chunk = words[i : i + max_words]
                if chunk:
                    texts.append(" ".join(chunk))
                    n += len(chunk)
                if n >= total_words:
                    return texts
    return texts


def n_words(texts: List[str]) -> int:
    return sum(len(t.split()) for t in texts)


# -- pipelines ----------------------------------------------------------------------
def build_pipelines(work: Path, encoder: Path, corpus: Path, threads: int = 1, train_steps: int = 150,
                    o_bias: float = 5.0) -> Dict[str, Any]:
    """Initialise the spaCy pipelines (saved under ``work``); RETURNS facts about them."""
    from spacy import util
    from spacy.training.initialize import init_nlp

    from spacy_cbio.train.config import assemble_cnn_config, assemble_config

    paths = {"paths.train": str(corpus / "train.spacy"), "paths.dev": str(corpus / "dev.spacy")}
    facts: Dict[str, Any] = {}
    source = {"encoder": str(Path(encoder).resolve()), "corpus": str(Path(corpus).resolve())}
    if (work / "source.json").exists() and json.loads((work / "source.json").read_text()) != source:
        for name in ("train", "spacy_trf", "spacy_cnn", "hf_model"):  # built from another encoder or corpus
            shutil.rmtree(work / name, ignore_errors=True)
    (work / "source.json").write_text(json.dumps(source))
    trf_dir = work / "spacy_trf"
    if not (trf_dir / "meta.json").exists():
        # The small profile freezes the transformer: only the linear head learns, so the
        # pipeline's encoder stays the pretrained one (the HF model's). A short high-rate run
        # gives a head that predicts entities at a realistic rate (a zero-initialised head makes
        # none, a random one far too many; the post-processing of both systems depends on it).
        train_dir = work / "train"
        cmd = [sys.executable, "-m", "spacy_cbio", "train", str(train_dir), "--profile", "small",
               "--threads", str(threads), f"--paths.transformer={encoder}", "--cbio.features=transformer",
               *[f"--{key}={value}" for key, value in paths.items()],
               f"--training.max_steps={train_steps}", f"--training.eval_frequency={train_steps}",
               "--training.optimizer.learn_rate.initial_rate=0.01"]
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
        (work / "train.log").write_text(proc.stdout + proc.stderr, encoding="utf8")
        if proc.returncode != 0:
            raise SystemExit(f"training the head failed:\n{proc.stdout[-2000:]}{proc.stderr[-3000:]}")
        shutil.copytree(train_dir / "model-last", trf_dir)
    perf = json.loads((trf_dir / "meta.json").read_text()).get("performance", {})
    facts["head_training"] = {"steps": train_steps, "dev_ents_f": perf.get("ents_f"), "dev_ents_p": perf.get("ents_p"),
                              "dev_ents_r": perf.get("ents_r")}
    cnn_dir = work / "spacy_cnn"
    if not (cnn_dir / "meta.json").exists():
        config = assemble_cnn_config({**paths, "paths.vectors": None})
        nlp = init_nlp(util.load_config_from_str(config.to_str(), interpolate=False))
        nlp.to_disk(cnn_dir)
    import spacy
    import torch
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    nlp = spacy.load(trf_dir)
    ner = nlp.get_pipe("ner")
    tags = list(ner.tags)
    facts["n_tags"] = len(tags)
    facts["labels"] = list(ner.labels)
    get_spans = nlp.config["components"]["transformer"]["model"]["get_spans"]
    facts["windows"] = {"window": get_spans.get("window"), "stride": get_spans.get("stride")}
    hf_dir = work / "hf_model"
    if not (hf_dir / "config.json").exists():
        # The HF model: the same encoder weights and a head of the same size whose tag names and
        # weights are the spaCy head's, so both systems predict from the same probabilities.
        hf = AutoModelForTokenClassification.from_pretrained(
            encoder, num_labels=len(tags), id2label=dict(enumerate(tags)), label2id={t: i for i, t in enumerate(tags)})
        output_layer = ner.model.get_ref("output_layer")
        with torch.no_grad():
            hf.classifier.weight.copy_(torch.from_numpy(ner.model.ops.to_numpy(output_layer.get_param("W"))))
            hf.classifier.bias.copy_(torch.from_numpy(ner.model.ops.to_numpy(output_layer.get_param("b"))))
        hf.save_pretrained(hf_dir)
        AutoTokenizer.from_pretrained(encoder).save_pretrained(hf_dir)
    fewer_dir = work / "hf_model_fewer"
    if not (fewer_dir / "config.json").exists() or json.loads((fewer_dir / "config.json").read_text()).get(
            "cbio_o_bias") != o_bias:
        # The same, with the O logit raised by o_bias: the HF pipeline decodes each wordpiece by argmax
        # and finds many more entities than the spaCy head's constrained decoding of token means;
        # this variant brings its entity count (and post-processing work) near the spaCy pipeline's.
        hf = AutoModelForTokenClassification.from_pretrained(hf_dir)
        with torch.no_grad():
            hf.classifier.bias[hf.config.label2id["O"]] += o_bias
        hf.config.cbio_o_bias = o_bias
        hf.save_pretrained(fewer_dir)
        AutoTokenizer.from_pretrained(hf_dir).save_pretrained(fewer_dir)
    facts["hf_fewer_o_bias"] = o_bias
    return facts


# -- one system, in its own process ---------------------------------------------------------
def worker(system: str, args) -> Dict[str, Any]:
    import torch

    torch.set_num_threads(args.threads)
    texts = json.loads(Path(args.texts_file).read_text(encoding="utf8"))
    words = n_words(texts)
    work = Path(args.work)
    start = time.perf_counter()
    forward = None
    if system in ("hf", "hf_fewer"):
        from transformers import AutoModelForTokenClassification, AutoTokenizer, pipeline

        facts = json.loads((work / "facts.json").read_text())
        model_dir = work / ("hf_model" if system == "hf" else "hf_model_fewer")
        tokenizer = AutoTokenizer.from_pretrained(model_dir)
        model = AutoModelForTokenClassification.from_pretrained(model_dir)
        assert model.config.num_labels == facts["n_tags"]
        model.eval()
        nlp = pipeline("token-classification", model=model, tokenizer=tokenizer, aggregation_strategy="simple", device=-1)
        forward = forward_timer(model)

        def run(batch: List[str]) -> int:
            return sum(len(ents) for ents in nlp(batch, batch_size=args.batch_size))
    else:
        import spacy

        nlp = spacy.load(work / system)
        if system == "spacy_trf":
            forward = forward_timer(hf_model(nlp))

        def run(batch: List[str]) -> int:
            return sum(len(doc.ents) for doc in nlp.pipe(batch, batch_size=args.batch_size))
    load_s = time.perf_counter() - start
    run(texts[: args.batch_size * 2])  # warm up
    passes = []
    forward_s = []
    n_ents = 0
    for _ in range(args.passes):
        if forward is not None:
            forward[0] = 0.0
        t0 = time.perf_counter()
        n_ents = run(texts)
        passes.append(time.perf_counter() - t0)
        forward_s.append(forward[0] if forward is not None else None)
    best = min(range(len(passes)), key=passes.__getitem__)
    result = {
        "system": system, "words": words, "n_texts": len(texts), "n_ents": n_ents, "load_s": round(load_s, 2),
        "pass_s": [round(p, 3) for p in passes], "words_per_s": round(words / passes[best], 1),
        "forward_share": round(forward_s[best] / passes[best], 3) if forward_s[best] is not None else None,
        "peak_rss_mib": peak_rss_mib(),
        "torch_threads": torch.get_num_threads(),
    }
    if system == "spacy_trf":  # time split by component, one pass
        split: Dict[str, float] = {}
        t0 = time.perf_counter()
        docs = [nlp.make_doc(t) for t in texts]
        split["tokenizer"] = time.perf_counter() - t0
        for name, proc in nlp.pipeline:
            forward[0] = 0.0
            t0 = time.perf_counter()
            docs = list(proc.pipe(docs, batch_size=args.batch_size))
            split[name] = time.perf_counter() - t0
            if name == "transformer":
                split["transformer: HF forward"] = forward[0]
        result["split_s"] = {k: round(v, 3) for k, v in split.items()}
        result["spacy_tokens"] = sum(len(d) for d in docs)
    return result


def profile_spacy(args, out: Path) -> None:
    """cProfile of one spaCy pass: top functions by own time, written to ``out``."""
    import cProfile
    import io
    import pstats

    import spacy
    import torch

    torch.set_num_threads(args.threads)
    texts = json.loads(Path(args.texts_file).read_text(encoding="utf8"))
    nlp = spacy.load(Path(args.work) / "spacy_trf")
    list(nlp.pipe(texts[: args.batch_size], batch_size=args.batch_size))
    prof = cProfile.Profile()
    prof.enable()
    list(nlp.pipe(texts, batch_size=args.batch_size))
    prof.disable()
    stream = io.StringIO()
    pstats.Stats(prof, stream=stream).sort_stats("tottime").print_stats(25)
    out.write_text(stream.getvalue(), encoding="utf8")


# -- machine -----------------------------------------------------------------------
def flop_bound(args, texts: List[str]) -> Dict[str, Any]:
    """FLOPs per word of the encoder (+ head) and the words/s they allow at the measured GFLOP/s."""
    from transformers import AutoConfig, AutoTokenizer

    cfg = AutoConfig.from_pretrained(args.encoder)
    tok = AutoTokenizer.from_pretrained(args.encoder)
    lengths = [len(tok(t)["input_ids"]) for t in texts]
    pieces = sum(lengths) - 2 * len(texts)  # without <s> </s>
    words = n_words(texts)
    d, ff, layers = cfg.hidden_size, cfg.intermediate_size, cfg.num_hidden_layers
    seq = statistics.mean(lengths)
    linear = layers * (4 * d * d + 2 * d * ff)  # Q, K, V, O + FFN weights (multiply-adds per token)
    attention = layers * 2 * seq * d  # QK^T and AV, per token, at the mean sequence length
    head = d * args.n_tags
    flops_per_piece = 2 * (linear + attention + head)
    pieces_per_word = (sum(lengths)) / words  # incl. <s> </s>, which are computed too
    peak = matmul_gflops(args.threads, 1024, 1024, 1024)
    shaped = matmul_gflops(args.threads, args.batch_size * int(seq), ff, d)  # an FFN matmul of this model
    flops_per_word = flops_per_piece * pieces_per_word
    return {
        "hidden": d, "intermediate": ff, "layers": layers, "vocab": cfg.vocab_size,
        "mean_seq_pieces": round(seq, 1), "pieces_per_word": round(pieces_per_word, 3),
        "pieces_per_word_no_special": round(pieces / words, 3),
        "linear_params": linear, "flops_per_piece": int(flops_per_piece), "flops_per_word": int(flops_per_word),
        "gflops_matmul_1024": round(peak, 1), "gflops_matmul_model_shape": round(shaped, 1),
        "bound_words_per_s": round(peak * 1e9 / flops_per_word, 0),
        "bound_words_per_s_model_shape": round(shaped * 1e9 / flops_per_word, 0),
    }


def run_annotate(args, texts: List[str], work: Path) -> Dict[str, Any]:
    """``spacy-cbio annotate`` on a folder of .txt files (one per text), torch threads as the others."""
    folder = work / "annotate_in"
    folder.mkdir(exist_ok=True)
    for old in folder.glob("*.txt"):
        old.unlink()
    for i, text in enumerate(texts):
        (folder / f"{i:05d}.txt").write_text(text, encoding="utf8")
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads), "MKL_NUM_THREADS": str(args.threads),
           "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "spacy_cbio", "annotate", str(work / "spacy_trf"), str(folder),
                           "-o", str(work / "annotate.jsonl"), "--no-progress", "-b", str(args.batch_size),
                           "--summary", str(work / "annotate_summary.json")],
                          capture_output=True, text=True, env=env, cwd=REPO)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        return {"error": proc.stderr[-2000:]}
    summary = json.loads((work / "annotate_summary.json").read_text())
    words = n_words(texts)
    return {"n_docs": summary["n_docs"], "seconds_loop": summary["seconds"], "wall_s_with_load": round(wall, 2),
            "words_per_s": round(words / summary["seconds"], 1), "words_per_s_with_load": round(words / wall, 1),
            "summary_words_per_s_spacy_tokens": summary["words_per_second"]}


def machine() -> Dict[str, Any]:
    info = {"python": platform.python_version(), "nproc": os.cpu_count()}
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        keep = ("Model name", "CPU(s)", "Thread(s) per core", "Core(s) per socket", "Socket(s)", "L2 cache", "L3 cache", "Flags")
        for line in lscpu.splitlines():
            key, _, value = line.partition(":")
            if key.strip() in keep:
                value = value.strip()
                if key.strip() == "Flags":
                    value = " ".join(f for f in value.split() if f.startswith(("avx", "fma", "amx")))
                info[key.strip()] = value
    except OSError:
        pass
    info["loadavg_at_start"] = os.getloadavg()
    from importlib.metadata import version

    info.update({name: version(name) for name in ("torch", "transformers", "spacy", "spacy-transformers", "thinc")})
    return info


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--encoder", default=str(DEFAULT_ENCODER))
    parser.add_argument("--corpus", default=str(DEFAULT_CORPUS), help="NER DocBins (train/dev.spacy) for the labels")
    parser.add_argument("--data", default=str(DEFAULT_DATA), help="data mirror holding quaero/")
    parser.add_argument("--work", default=str(Path(tempfile.gettempdir()) / "cbio_bench"))
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "results.json"))
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--max-words", type=int, default=100, help="longest text, in words")
    parser.add_argument("--total-words", type=int, default=8000)
    parser.add_argument("--passes", type=int, default=3, help="timed passes per system and round")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds over the systems")
    parser.add_argument("--train-steps", type=int, default=150, help="steps of the (frozen-encoder) head training")
    parser.add_argument("--hf-o-bias", type=float, default=5.0, help="added to the O logit of the hf_fewer variant")
    parser.add_argument("--worker", choices=SYSTEMS + ("profile",), help=argparse.SUPPRESS)
    parser.add_argument("--texts-file", help=argparse.SUPPRESS)
    parser.add_argument("--n-tags", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    work = Path(args.work)
    if args.worker == "profile":
        profile_spacy(args, work / "profile_spacy_trf.txt")
        return
    if args.worker:
        print(json.dumps(worker(args.worker, args)))
        return

    work.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    report: Dict[str, Any] = {"machine": machine(), "command": " ".join([Path(sys.executable).name, *sys.argv])}
    texts = load_texts(Path(args.data), args.max_words, args.total_words)
    texts_file = work / "texts.json"
    texts_file.write_text(json.dumps(texts, ensure_ascii=False), encoding="utf8")
    report["texts"] = {"source": "QUAERO EMEA test (*.txt lines)", "n_texts": len(texts), "words": n_words(texts),
                       "max_words": args.max_words}
    facts = build_pipelines(work, Path(args.encoder), Path(args.corpus), args.threads, args.train_steps, args.hf_o_bias)
    (work / "facts.json").write_text(json.dumps(facts))
    report["pipeline"] = facts
    report["settings"] = {"batch_size": args.batch_size, "torch_threads": args.threads, "passes": args.passes,
                          "rounds": args.rounds}
    base = [sys.executable, __file__, "--work", str(work), "--texts-file", str(texts_file), "--encoder", args.encoder,
            "--batch-size", str(args.batch_size), "--threads", str(args.threads), "--passes", str(args.passes)]
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    runs: Dict[str, List[Dict[str, Any]]] = {s: [] for s in SYSTEMS}
    for rnd in range(args.rounds):
        order = SYSTEMS if rnd % 2 == 0 else SYSTEMS[::-1]
        for system in order:
            proc = subprocess.run([*base, "--worker", system], capture_output=True, text=True, env=env)
            if proc.returncode != 0:
                raise SystemExit(f"{system} failed:\n{proc.stderr[-3000:]}")
            runs[system].append(json.loads(proc.stdout.strip().splitlines()[-1]))
            print(f"round {rnd} {system}: {runs[system][-1]['words_per_s']} words/s", file=sys.stderr)
    results = {}
    for system, items in runs.items():
        best = max(items, key=lambda r: r["words_per_s"])
        best = dict(best, words_per_s_all=[r["words_per_s"] for r in items],
                    peak_rss_mib=max(r["peak_rss_mib"] for r in items))
        results[system] = best
    report["systems"] = results
    hf = results["hf"]["words_per_s"]
    report["ratios"] = {f"{s}/hf": round(results[s]["words_per_s"] / hf, 2) for s in SYSTEMS}
    report["ratios"]["spacy_trf/hf_fewer"] = round(results["spacy_trf"]["words_per_s"] / results["hf_fewer"]["words_per_s"], 2)
    bound = flop_bound(argparse.Namespace(**{**vars(args), "n_tags": facts["n_tags"]}), texts)
    report["flop_bound"] = bound
    report["ratios"]["flop_bound/spacy_trf"] = round(bound["bound_words_per_s"] / results["spacy_trf"]["words_per_s"], 2)
    report["ratios"]["flop_bound/hf"] = round(bound["bound_words_per_s"] / hf, 2)
    report["annotate"] = run_annotate(args, texts, work)
    if "words_per_s" in report["annotate"]:
        report["ratios"]["annotate/spacy_trf"] = round(report["annotate"]["words_per_s"] / results["spacy_trf"]["words_per_s"], 2)
    subprocess.run([*base, "--worker", "profile"], env=env, check=False)
    report["profile_file"] = "profile_spacy_trf.txt"  # in --work, beside the pipelines it profiles
    report["machine"]["loadavg_at_end"] = os.getloadavg()
    report["seconds_total"] = round(time.perf_counter() - started, 1)
    Path(args.out).write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf8")
    print(json.dumps(report["ratios"], indent=2))
    print(f"wrote {args.out} ({report['seconds_total']} s)")


if __name__ == "__main__":
    main()
