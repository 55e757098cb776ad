"""Pretraining stage commands: ``pretrain`` and ``benchmark-pretrain``."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Optional

import typer


def pretrain(
    config: Path = typer.Argument(..., help="Pretraining profile (configs/pretrain/*.cfg).", exists=True, dir_okay=False),
    bio_corpus: Path = typer.Argument(..., help="Biomedical corpus dir (with dataset/, stats.md).", exists=True),
    output: Path = typer.Argument(..., help="Output dir: general/, bio/, control/, model/ (= bio)."),
    general_corpus: Optional[Path] = typer.Option(
        None, "--general-corpus", "-g", help="General-French corpus dir (base from scratch and control run).", exists=True
    ),
    resume: bool = typer.Option(False, "--resume", help="Skip finished runs, continue the last checkpoint of others."),
    base: Optional[str] = typer.Option(
        None, "--base", help="Base checkpoint (hub name or local dir); overrides the profile's base.model. '' = from scratch."
    ),
    max_steps: Optional[int] = typer.Option(None, "--max-steps", help="Override training.max_steps (bio/control)."),
    general_steps: Optional[int] = typer.Option(None, "--general-steps", help="Override base.general_steps."),
    num_threads: Optional[int] = typer.Option(None, "--threads", help="Override training.num_threads (0 = all)."),
) -> None:
    """Continual MLM pretraining with whole word masking: general base -> bio (+ control).

    Without a reachable base, trains a tokenizer and a general-French base from
    scratch first. Writes Hugging Face model dirs with model cards and metrics.jsonl.
    """
    from .pipeline import run_stage

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    overrides = {}
    if max_steps is not None:
        overrides["training.max_steps"] = max_steps
    if general_steps is not None:
        overrides["base.general_steps"] = general_steps
    if num_threads is not None:
        overrides["training.num_threads"] = num_threads
    from .modeling import BaseUnreachable

    try:
        run_stage(config, bio_corpus, output, general_corpus, resume=resume, base=base, overrides=overrides,
                  echo=typer.echo)
    except (ValueError, FileNotFoundError, BaseUnreachable) as err:
        typer.echo(f"ERROR: {err}", err=True)
        raise typer.Exit(1)


def benchmark(
    config: Path = typer.Argument(..., help="Pretraining profile (model size, batch, seq_len).", exists=True),
    corpus: Path = typer.Argument(..., help="Corpus dir (with dataset/).", exists=True),
    output: Path = typer.Argument(..., help="Dir for benchmark.json."),
    steps: int = typer.Option(30, "--steps", help="Optimizer steps per loop and round."),
    rounds: int = typer.Option(3, "--rounds", help="Alternating rounds; the median round is kept."),
    model: Optional[Path] = typer.Option(
        None, "--model", help="Model dir: use its tokenizer/weights and add the result to its README.md."
    ),
) -> None:
    """Tokens/s of the pretraining loop (packing, WWM, masked-only head) vs. a plain Trainer MLM loop."""
    from .benchmark import run_benchmark

    logging.basicConfig(level=logging.WARNING)
    result = run_benchmark(config, corpus, output, steps, model, rounds)
    for name, run in result["runs"].items():
        typer.echo(f"{name:>18}: {run['tokens_per_s']:8.0f} tokens/s ({run['wall_s']:.1f} s)")
    typer.echo(f"speed-up ours/plain: {result['ratio']:.2f}x (masked-only head alone: {result['ratio_head_only']:.2f}x)")
