"""Model cards (``README.md``) and environment records for pretrained models."""
from __future__ import annotations

import math
import os
from typing import Any, Dict, Optional, Tuple

from .. import reporting
from ..reporting import markdown_table

LIBRARIES = ("spacy-cbio", "torch", "transformers", "tokenizers", "datasets", "sentencepiece", "accelerate", "numpy")


def library_versions() -> Dict[str, str]:
    """Installed versions of the libraries that shape the result."""
    return reporting.library_versions(LIBRARIES)


def hardware() -> Dict[str, Any]:
    """CPU model, core count, RAM, GPU names (:func:`..reporting.hardware`), torch threads and world size."""
    import torch

    return {**reporting.hardware(), "torch_threads": torch.get_num_threads(),
            "world_size": int(os.environ.get("WORLD_SIZE", "1"))}


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def model_card(summary: Dict[str, Any], corpus_md: Optional[str], description: str, comparison_md: str = "") -> str:
    """Markdown model card for one run (``run_info.json``: the ``run_mlm`` summary plus stage info).

    ``comparison_md``: the cross-evaluation table of ``pretrain-report``
    (only the assembled ``model/`` card has it; a run's own card reports
    its own validation perplexity).
    """
    hw = summary.get("hardware", {})
    hw_text = ", ".join(hw.get("gpus") or []) or f"CPU only ({hw.get('cpu', '?')})"
    versions = summary.get("versions", {})
    wall = f"{_fmt(summary.get('wall_time_s'), 1)} s"
    if summary.get("resumed_from_step"):
        wall += f" (since the resume at step {summary['resumed_from_step']:,})"
    training_rows = [
        ("run", f"`{summary['run']}`"),
        ("initialised from", summary.get("init", "n/a")),
        ("optimizer steps", _fmt(summary.get("steps"))),
        ("tokens seen", _fmt(summary.get("tokens_seen"))),
        *([("effective batch (sequences per optimizer step)",
            f"{summary['per_device_batch']} per device x {summary['grad_accum']} accumulation x "
            f"{summary['world_size']} processes = {summary['effective_batch']:,}")]
          if summary.get("effective_batch") else []),
        *([("mixed precision", summary["mixed_precision"])] if summary.get("mixed_precision") else []),
        ("unique training tokens (packed blocks)", _fmt(summary.get("train_tokens_unique"))),
        ("validation perplexity (first eval -> final)",
         f"{_fmt(_ppl(summary.get('eval_loss_first')), 2)} -> {_fmt(summary.get('eval_perplexity_final'), 2)}"),
        ("training tokens/s (mean over logs)", _fmt(summary.get("tokens_per_s"), 0)),
        ("wall time", wall),
        ("hardware", f"{hw_text}; {hw.get('cpu_cores', '?')} cores, {hw.get('torch_threads', '?')} torch threads, "
                     f"world size {hw.get('world_size', 1)}"),
        ("seed", summary.get("settings", {}).get("seed", "n/a")),
        ("data order (corpus shuffle seed)", _fmt(summary.get("shuffle_seed"))),
        ("corpus", summary.get("corpus") or "n/a"),
    ]
    lines = [
        f"# {summary.get('title', summary['run'])}",
        "",
        description,
        "",
        "## Training",
        "",
        markdown_table(training_rows, ["", ""]),
        "",
    ]
    if comparison_md:
        lines += ["## Base vs. biomedical comparison", "", comparison_md.strip(), ""]
    if corpus_md:
        lines += ["## Corpus", "", corpus_md.strip(), ""]
    lines += [
        "## How to load",
        "",
        "```python",
        "from transformers import AutoModelForMaskedLM, AutoTokenizer",
        "",
        'model = AutoModelForMaskedLM.from_pretrained("PATH")',
        'tokenizer = AutoTokenizer.from_pretrained("PATH")',
        "```",
        "",
        'In spaCy: `[components.transformer.model] name = "PATH"` (spacy-transformers).',
        "",
        "## Settings",
        "",
        "```ini",
        summary.get("profile_text", "").strip(),
        "```",
        "",
        "## Library versions",
        "",
        ", ".join(f"{k} {v}" for k, v in versions.items()),
        "",
    ]
    return "\n".join(lines)


def _ppl(loss: Optional[float]) -> Optional[float]:
    return None if loss is None else perplexity(loss)


def benchmark_md(bench: Dict[str, Any]) -> str:
    """Markdown table for a ``benchmark.json`` record."""
    rows = [
        "## Training loop benchmark",
        "",
        f"Same model, data, batch ({bench['batch_size']} x {bench['seq_len']}), steps ({bench['steps']}) "
        f"and threads ({bench['threads']}); tokens/s counts non-padding tokens over `trainer.train()` wall time "
        f"(median of {bench.get('rounds', 1)} alternating rounds after a warm-up).",
        "",
        markdown_table([(name, f"{r['tokens_per_s']:,.0f}", f"{r['wall_s']:.1f}", f"{r['tokens']:,}")
                        for name, r in bench["runs"].items()], ["loop", "tokens/s", "wall s", "tokens"]),
    ]
    rows += ["", f"**Speed-up (ours / plain): {bench['ratio']:.2f}x**", ""]
    return "\n".join(rows)


def _bench_setting(bench: Dict[str, Any]) -> Tuple[str, str]:
    """The hardware and the model of a benchmark, as README text."""
    hw = bench.get("hardware", {})
    hw_text = ", ".join(hw.get("gpus") or []) or f"CPU only ({hw.get('cpu', '?')}, {hw.get('cpu_cores', '?')} cores)"
    model = bench.get("model")
    if isinstance(model, dict):
        return hw_text, "random " + ", ".join(f"{k} {v}" for k, v in model.items()) + " model"
    return hw_text, f"model `{model}`"


def benchmark_readme(bench: Dict[str, Any]) -> str:
    """``README.md`` of a ``benchmark-pretrain`` output folder."""
    hw_text, model = _bench_setting(bench)
    return "\n".join(
        [
            "# Pretraining loop benchmark",
            "",
            f"Profile `{bench.get('config')}`, corpus `{bench.get('corpus')}`, {model}; {hw_text}. "
            "Raw numbers: `benchmark.json`.",
            "",
            benchmark_md(bench),
        ]
    )


def precision_benchmark_readme(bench: Dict[str, Any]) -> str:
    """``README.md`` of ``benchmark-pretrain --compare-precision``: bf16 vs fp32 side by side."""
    hw_text, model = _bench_setting(bench)
    rows = [
        "# Pretraining loop benchmark: mixed precision",
        "",
        f"Profile `{bench.get('config')}`, corpus `{bench.get('corpus')}`, {model}; {hw_text}. "
        "Raw numbers: `benchmark.json`.",
        "",
        f"The pretraining loop (packed blocks, whole word masking, masked-only head), batch {bench['batch_size']} x "
        f"{bench['seq_len']}, {bench['threads']} threads, {bench['steps']} steps from the same weights on the same "
        f"batches; median of {bench['rounds']} alternating rounds after a warm-up. Validation loss: fp32 "
        f"evaluation of the trained weights on {bench['eval_blocks']} blocks with fixed masks "
        f"(before training: {bench['eval_loss_start']:.4f}).",
        "",
        markdown_table([(name, f"{r['tokens_per_s']:,.0f}", f"{r['wall_s']:.1f}", f"{r['eval_loss']:.4f}")
                        for name, r in bench["runs"].items()],
                       ["precision", "tokens/s", "wall s", "validation loss after the steps"]),
    ]
    rows += ["", f"**Speed ratio ({bench['ratio_of']}): {bench['ratio']:.2f}x**; validation loss difference "
             f"{bench['eval_loss_diff']:+.4f}.", ""]
    return "\n".join(rows)


def perplexity(loss: float) -> float:
    """``exp(loss)``, capped at ``exp(50)``."""
    return math.exp(min(loss, 50.0))
