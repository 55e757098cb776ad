"""Model cards (``README.md``) and environment records for pretrained models."""
from __future__ import annotations

import json
import os
import platform
from .. import about
from pathlib import Path
from typing import Any, Dict, Optional

import torch

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
    """Markdown model card for one run (summary from ``run_mlm`` plus stage info)."""
    hw = summary.get("hardware", {})
    hw_text = ", ".join(hw.get("gpus") or []) or f"CPU only ({hw.get('cpu', '?')})"
    versions = summary.get("versions", {})
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
        f"| wall time | {_fmt(summary.get('wall_time_s'), 1)} s |",
        f"| hardware | {hw_text}; {hw.get('cpu_cores', '?')} cores, {hw.get('torch_threads', '?')} torch threads, "
        f"world size {hw.get('world_size', 1)} |",
        f"| seed | {summary.get('settings', {}).get('seed', 'n/a')} |",
        "",
    ]
    if comparison_md:
        lines += ["## Base vs. biomedical comparison", "", comparison_md, ""]
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
    import math

    return None if loss is None else math.exp(min(loss, 50.0))


def append_benchmark(model_dir: Path, bench: Dict[str, Any]) -> None:
    """Add (or replace) a benchmark section in ``model_dir/README.md`` and ``run_info.json``."""
    readme = model_dir / "README.md"
    text = readme.read_text(encoding="utf8") if readme.exists() else f"# {model_dir.name}\n"
    marker = "## Training loop benchmark"
    text = text.split(marker)[0].rstrip() + "\n\n" + benchmark_md(bench) + "\n"
    readme.write_text(text, encoding="utf8")
    info_path = model_dir / "run_info.json"
    if info_path.exists():
        info = json.loads(info_path.read_text(encoding="utf8"))
        info["benchmark"] = bench
        info_path.write_text(json.dumps(info, indent=2), encoding="utf8")


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
