"""Model cards (``README.md``) and environment records for pretrained models."""
from __future__ import annotations

import math
import os
import platform
from pathlib import Path
from typing import Any, Dict, Optional

import torch

from .. import about

LIBRARIES = ("spacy-cbio", "torch", "transformers", "tokenizers", "datasets", "sentencepiece", "accelerate", "numpy")


def library_versions() -> Dict[str, str]:
    """Installed versions of the libraries that shape the result."""
    return about.library_versions(LIBRARIES)


def hardware() -> Dict[str, Any]:
    """CPU model, core count, torch threads and GPU names."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    gpus = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())] if torch.cuda.is_available() else []
    return {
        "cpu": cpu,
        "cpu_cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "gpus": gpus,
        "world_size": int(os.environ.get("WORLD_SIZE", "1")),
    }


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
    lines = [
        f"# {summary.get('title', summary['run'])}",
        "",
        description,
        "",
        "## Training",
        "",
        "| | |",
        "|---|---|",
        f"| run | `{summary['run']}` |",
        f"| initialised from | {summary.get('init', 'n/a')} |",
        f"| optimizer steps | {_fmt(summary.get('steps'))} |",
        f"| tokens seen | {_fmt(summary.get('tokens_seen'))} |",
        f"| unique training tokens (packed blocks) | {_fmt(summary.get('train_tokens_unique'))} |",
        f"| validation perplexity (first eval -> final) | "
        f"{_fmt(_ppl(summary.get('eval_loss_first')), 2)} -> {_fmt(summary.get('eval_perplexity_final'), 2)} |",
        f"| training tokens/s (mean over logs) | {_fmt(summary.get('tokens_per_s'), 0)} |",
        f"| wall time | {wall} |",
        f"| hardware | {hw_text}; {hw.get('cpu_cores', '?')} cores, {hw.get('torch_threads', '?')} torch threads, "
        f"world size {hw.get('world_size', 1)} |",
        f"| seed | {summary.get('settings', {}).get('seed', 'n/a')} |",
        f"| data order (corpus shuffle seed) | {_fmt(summary.get('shuffle_seed'))} |",
        f"| corpus | {summary.get('corpus') or 'n/a'} |",
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
        "| loop | tokens/s | wall s | tokens |",
        "|---|---|---|---|",
    ]
    for name, r in bench["runs"].items():
        rows.append(f"| {name} | {r['tokens_per_s']:,.0f} | {r['wall_s']:.1f} | {r['tokens']:,} |")
    rows += ["", f"**Speed-up (ours / plain): {bench['ratio']:.2f}x**", ""]
    return "\n".join(rows)


def benchmark_readme(bench: Dict[str, Any]) -> str:
    """``README.md`` of a ``benchmark-pretrain`` output folder."""
    hw = bench.get("hardware", {})
    hw_text = ", ".join(hw.get("gpus") or []) or f"CPU only ({hw.get('cpu', '?')}, {hw.get('cpu_cores', '?')} cores)"
    model = bench.get("model")
    if isinstance(model, dict):
        model = "random " + ", ".join(f"{k} {v}" for k, v in model.items()) + " model"
    else:
        model = f"model `{model}`"
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


def perplexity(loss: float) -> float:
    """``exp(loss)``, capped at ``exp(50)``."""
    return math.exp(min(loss, 50.0))
