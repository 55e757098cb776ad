"""The benchmarks' FLOP arithmetic (achieved matmul GFLOP/s, the FLOPs per word of a pipeline),
the transformer's forward-pass timer, and the provenance every benchmark record carries."""
from __future__ import annotations

import time
from typing import Any, Dict, List


def matmul_gflops(threads: int, n: int, m: int, k: int, seconds: float = 1.5) -> float:
    """Achieved GFLOP/s of float32 (n x k) @ (k x m) with ``threads`` torch threads."""
    import torch

    torch.set_num_threads(threads)
    a, b = torch.randn(n, k), torch.randn(k, m)
    for _ in range(3):
        a @ b
    count, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        a @ b
        count += 1
    return 2 * n * m * k * count / (time.perf_counter() - t0) / 1e9


def forward_timer(module) -> List[float]:
    """Sum the wall time of ``module``'s forward calls into the returned one-item list."""
    total = [0.0]
    starts: List[float] = []
    module.register_forward_pre_hook(lambda *_: starts.append(time.perf_counter()))
    module.register_forward_hook(lambda *_: total.__setitem__(0, total[0] + time.perf_counter() - starts.pop()))
    return total


def pipeline_flops(nlp, texts: List[str]) -> Dict[str, Any]:
    """FLOPs of a spacy-cbio pipeline (transformer + ``cbio_token_ner``) over ``texts``.

    Transformer, per window its span getter makes: ``2 n L (4 d^2 + 2 d f)`` for the linear
    layers (Q, K, V, O and the two FFN matrices) and ``4 L n^2 d`` for attention (QK^T and AV),
    with ``n`` pieces (``<s>``, ``</s>`` included), ``L`` layers, width ``d``, FFN width ``f``.
    NER head, per spaCy token: ``2 |W|`` for every weight matrix ``W`` of its model (the static
    Tok2Vec's projections and window encoder, the output layer); embedding lookups cost none.
    """
    from spacy_cbio.components.quantize import hf_model

    trf = nlp.get_pipe("transformer")
    cfg = hf_model(nlp).config
    tokenizer = trf.model.tokenizer
    get_spans = trf.model.attrs["get_spans"]
    d, f, layers = cfg.hidden_size, cfg.intermediate_size, cfg.num_hidden_layers
    docs = [nlp.make_doc(text) for text in texts]
    trf_flops = pieces = windows = 0
    for doc_spans in get_spans(docs):
        for span in doc_spans:
            n = len(tokenizer(span.text)["input_ids"])
            pieces += n
            windows += 1
            trf_flops += 2 * n * layers * (4 * d * d + 2 * d * f) + 4 * layers * n * n * d
    ner = nlp.get_pipe("ner")
    weights = {node.name: 0 for node in ner.model.walk() if node.has_param("W")}
    for node in ner.model.walk():
        if node.has_param("W"):
            weights[node.name] += int(node.get_param("W").size)
    tokens = sum(len(doc) for doc in docs)
    words = sum(len(text.split()) for text in texts)
    head_per_token = 2 * sum(weights.values())
    total = trf_flops + head_per_token * tokens
    return {"hidden": d, "intermediate": f, "layers": layers, "windows": windows, "pieces": pieces,
            "tokens": tokens, "words": words, "pieces_per_word": round(pieces / words, 3),
            "tokens_per_word": round(tokens / words, 3), "transformer_flops_per_word": round(trf_flops / words),
            "head_weights": weights, "head_flops_per_token": head_per_token,
            "head_flops_per_word": round(head_per_token * tokens / words), "flops_per_word": round(total / words)}


def provenance() -> Dict[str, Any]:
    """The machine, the commit of the code and the library versions, for a benchmark record."""
    from pathlib import Path

    from spacy_cbio.reporting import hardware, library_versions
    from spacy_cbio.results.provenance import git_commit

    commit = git_commit(Path(__file__).resolve().parents[1]) or {}
    return {"machine": hardware(), "commit": str(commit.get("sha", "unknown"))[:12], "versions": library_versions()}


def bound(flops: Dict[str, Any], gflops: float) -> float:
    """Words/s the FLOPs per word allow at ``gflops`` GFLOP/s."""
    return gflops * 1e9 / flops["flops_per_word"]


__all__ = ["matmul_gflops", "forward_timer", "pipeline_flops", "provenance", "bound"]
