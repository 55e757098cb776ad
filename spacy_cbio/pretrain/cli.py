"""Pretraining stage commands.

The spaCy project runs one command per step (weasel decides what reruns):
``pretrain-tokenizer``, ``pretrain-run general|bio|control``,
``pretrain-report``; ``pretrain`` runs them all in one process.
``benchmark-pretrain`` measures the training loop's speed.
"""
from __future__ import annotations

from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, Iterator, Optional

import typer

if TYPE_CHECKING:
    from .config import PretrainProfile

CONFIG_HELP = "Pretraining profile (configs/pretrain/<profile>.cfg)."
CORPUS_HELP = "folder written by corpus_scripts/build_corpus.py (dataset/ with train and validation splits, stats.md)"
THREADS_HELP = "Override \\[training] num_threads: torch CPU threads (0 = all cores)."


class Run(str, Enum):
    """The three pretraining runs."""

    general = "general"
    bio = "bio"
    control = "control"


@contextmanager
def _errors() -> Iterator[None]:
    """Known failures as one ``ERROR:`` line and exit status 1, no traceback."""
    from .mlm import ResumeMismatch
    from .modeling import BaseUnreachable

    try:
        yield
    except (ValueError, FileNotFoundError, BaseUnreachable, ResumeMismatch) as err:
        typer.echo(f"ERROR: {err}", err=True)
        raise typer.Exit(1)


def _profile(config: Path, overrides: Dict[str, Any]) -> PretrainProfile:
    from .config import load_profile

    return load_profile(config, {k: v for k, v in overrides.items() if v is not None})


def pretrain_tokenizer(
    config: Path = typer.Argument(..., help=CONFIG_HELP, exists=True, dir_okay=False),
    general_corpus: Path = typer.Argument(..., help=f"General-French corpus: {CORPUS_HELP}.", exists=True,
                                          file_okay=False),
    output_dir: Path = typer.Argument(..., help="Tokenizer folder to write (cleared first), e.g. "
                                      "training/pretrain/<profile>/tokenizer."),
    base: Optional[str] = typer.Option(
        None, "--base", help="Base checkpoint (hub name or local dir); overrides \\[base] model. '' = from scratch."
    ),
) -> None:
    """Train a CamemBERT-style SentencePiece unigram tokenizer on the general corpus.

    Uses \\[tokenizer] vocab_size, max_texts and seed of the profile. When the
    base (\\[base] model or --base) is reachable, continual pretraining keeps
    the base's tokenizer: it is saved to OUTPUT_DIR and nothing is trained.
    Writes the tokenizer files and tokenizer_info.json.
    """
    from .stage import resolve_base_or_scratch, tokenizer_step

    with _errors():
        profile = _profile(config, {})
        base_name = resolve_base_or_scratch(profile.base.model if base is None else base)
        tokenizer_step(profile, general_corpus, output_dir, base_name)


def pretrain_run(
    run: Run = typer.Argument(..., help="general | bio | control. It sets the steps (general: \\[base] general_steps; "
                              "bio, control: \\[training] max_steps) and the data order (control: shuffle seed + 1)."),
    config: Path = typer.Argument(..., help=CONFIG_HELP, exists=True, dir_okay=False),
    corpus: Path = typer.Argument(..., help=f"Training corpus (general and control: general French; bio: "
                                  f"biomedical): {CORPUS_HELP}.", exists=True, file_okay=False),
    output_dir: Path = typer.Argument(..., help="Run folder to write, e.g. training/pretrain/<profile>/<run>: "
                                      "a Hugging Face model dir with README.md, run_info.json, metrics.jsonl, "
                                      "checkpoints/."),
    init: Optional[str] = typer.Option(
        None, "--init", help="Model to start from (hub name or local dir). bio and control: the general run's "
        "folder (required). general: overrides \\[base] model; when reachable the base is saved as the general run "
        "(nothing trained), else ('' or unreachable) the general base is trained from scratch with --tokenizer."
    ),
    tokenizer: Optional[Path] = typer.Option(
        None, "--tokenizer", help="Tokenizer folder from pretrain-tokenizer (general from scratch only).",
        exists=True, file_okay=False,
    ),
    resume: bool = typer.Option(
        False, "--resume", help="Continue from the last checkpoint in OUTPUT_DIR: a killed run goes on where it "
        "stopped, a finished one is saved again unchanged; an error if that checkpoint was made with other settings, "
        "data or init. Without it the run starts afresh (OUTPUT_DIR is cleared)."
    ),
    steps: Optional[int] = typer.Option(None, "--steps", help="Override the run's steps (see RUN).", min=1),
    num_threads: Optional[int] = typer.Option(None, "--threads", help=THREADS_HELP, min=0),
) -> None:
    """Train one pretraining run (masked LM, whole word masking) into its own folder.

    general: from scratch (with --tokenizer) or, when the base is reachable,
    the base saved as is. bio: the general model continued on biomedical
    text (the CamemBERT-bio analogue). control: the general model continued
    on general French for as many steps. Writes only OUTPUT_DIR, with its
    model card (corpus, steps, tokens, hardware, time, validation
    perplexity, seed, versions) and run_info.json.
    """
    from .stage import resolve_base_or_scratch, run_step, save_base_step

    with _errors():
        key = "base.general_steps" if run is Run.general else "training.max_steps"
        profile = _profile(config, {key: steps, "training.num_threads": num_threads})
        if run is Run.general:
            base_name = resolve_base_or_scratch(profile.base.model if init is None else init)
            if base_name:
                save_base_step(profile, base_name, output_dir)
                return
            if tokenizer is None:
                raise ValueError("no base model is reachable, so the general base is trained from scratch: pass "
                                 "--tokenizer with the folder written by `pretrain-tokenizer`")
            run_step("general", profile, corpus, output_dir, tokenizer_dir=tokenizer, resume=resume)
        else:
            if not init:
                raise ValueError(f"{run.value} continues a model: pass --init with the general run's folder "
                                 "(e.g. training/pretrain/<profile>/general)")
            run_step(run.value, profile, corpus, output_dir, init=init, tokenizer_dir=tokenizer, resume=resume)


def pretrain_report(
    config: Path = typer.Argument(..., help=CONFIG_HELP, exists=True, dir_okay=False),
    bio_corpus: Path = typer.Argument(..., help=f"Biomedical corpus: {CORPUS_HELP}.", exists=True, file_okay=False),
    pretrain_dir: Path = typer.Argument(..., help="Folder holding the runs general/, bio/ (and control/), e.g. "
                                        "training/pretrain/<profile>. report/ and model/ are written there.",
                                        exists=True, file_okay=False),
    general_corpus: Optional[Path] = typer.Option(
        None, "--general-corpus", help=f"General-French corpus ({CORPUS_HELP}): adds its validation set and the "
        "control run to the comparison.", exists=True, file_okay=False,
    ),
    control: bool = typer.Option(True, "--control/--no-control", help="With --general-corpus: compare the control "
                                 "run too (it must be trained: pretrain-run control)."),
    report_name: str = typer.Option("report", "--report-name", help="Folder of PRETRAIN_DIR the comparison goes to."),
    model: bool = typer.Option(True, "--model/--no-model", help="Also assemble PRETRAIN_DIR/model/ (bio without its "
                               "checkpoints, with its card): what the NER stage fine-tunes."),
) -> None:
    """Compare the runs and assemble the product model.

    Perplexity of general, bio (and control) on each validation set, with the
    same blocks and fixed masks for every model: PRETRAIN_DIR/report/
    (comparison.json, README.md). PRETRAIN_DIR/model/ becomes bio without
    its checkpoints, with a model card that includes the comparison: what
    the NER stage fine-tunes.
    """
    from .stage import report_step

    with _errors():
        report_step(_profile(config, {}), bio_corpus, pretrain_dir, general_corpus, control=control,
                    report_name=report_name, assemble_model=model)


def pretrain(
    config: Path = typer.Argument(..., help=CONFIG_HELP, exists=True, dir_okay=False),
    bio_corpus: Path = typer.Argument(..., help=f"Biomedical corpus: {CORPUS_HELP}.", exists=True, file_okay=False),
    output: Path = typer.Argument(..., help="Output folder: tokenizer/, general/, bio/, control/, report/, "
                                  "model/ (= bio, what the NER stage uses)."),
    general_corpus: Optional[Path] = typer.Option(
        None, "--general-corpus", help=f"General-French corpus ({CORPUS_HELP}): tokenizer and general base from "
        "scratch, and the control run.", exists=True, file_okay=False,
    ),
    resume: bool = typer.Option(
        False, "--resume", help="Continue each run from its last checkpoint (a killed run goes on, a finished one is "
        "kept); an error if a checkpoint was made with other settings. Without it every run starts afresh."
    ),
    base: Optional[str] = typer.Option(
        None, "--base", help="Base checkpoint (hub name or local dir); overrides \\[base] model. '' = from scratch."
    ),
    max_steps: Optional[int] = typer.Option(None, "--max-steps", help="Override \\[training] max_steps (bio, control).",
                                            min=1),
    general_steps: Optional[int] = typer.Option(None, "--general-steps", help="Override \\[base] general_steps.",
                                                min=1),
    num_threads: Optional[int] = typer.Option(None, "--threads", help=THREADS_HELP, min=0),
) -> None:
    """The whole pretraining stage in one process (for use outside spaCy projects).

    Continual MLM pretraining with whole word masking: the base (or, when
    none is reachable, a tokenizer and a general-French base trained from
    scratch), then bio and control runs, then the report and model/. The
    same steps as pretrain-tokenizer, pretrain-run and pretrain-report.
    """
    from .stage import run_all

    with _errors():
        profile = _profile(config, {"training.max_steps": max_steps, "base.general_steps": general_steps,
                                    "training.num_threads": num_threads})
        run_all(profile, bio_corpus, output, general_corpus, resume=resume, base=base)


def benchmark(
    config: Path = typer.Argument(..., help="Pretraining profile (model size, batch, seq_len).", exists=True,
                                  dir_okay=False),
    corpus: Path = typer.Argument(..., help=f"Corpus: {CORPUS_HELP}.", exists=True, file_okay=False),
    output: Path = typer.Argument(..., help="Output folder: benchmark.json and README.md (nothing else is written)."),
    steps: Optional[int] = typer.Option(None, "--steps", help="Optimizer steps per loop and round (default: the "
                                        "profile's \\[benchmark] steps).", min=1),
    rounds: Optional[int] = typer.Option(None, "--rounds", help="Alternating rounds; the median round is kept "
                                         "(default: the profile's \\[benchmark] rounds).", min=1),
    model: Optional[Path] = typer.Option(
        None, "--model", help="Model folder whose tokenizer and weights are benchmarked (only read); default: a "
        "tokenizer trained on CORPUS and the profile's \\[model] at random.", exists=True, file_okay=False,
    ),
    compare_precision: bool = typer.Option(
        False, "--compare-precision", help="Instead: our loop in fp32 vs bf16 (autocast, CPU or GPU) side by side: "
        "tokens/s of each, their ratio, and the validation loss after the same steps.",
    ),
) -> None:
    """Tokens/s of the pretraining loop (packing, whole word masking, masked-only head) vs a plain Trainer loop.

    The plain loop is transformers' Trainer + DataCollatorForLanguageModeling
    with one document per sequence and the full LM head, on the same model,
    data, batch and threads.
    """
    from .benchmark import run_benchmark

    with _errors():
        if compare_precision:
            from .benchmark import run_precision_benchmark

            result = run_precision_benchmark(config, corpus, output, steps, model, rounds)
        else:
            result = run_benchmark(config, corpus, output, steps, model, rounds)
    if compare_precision:
        for name, run in result["runs"].items():
            typer.echo(f"{name:>6}: {run['tokens_per_s']:8.0f} tokens/s ({run['wall_s']:.1f} s), "
                       f"validation loss {run['eval_loss']:.4f}")
        typer.echo(f"speed ratio {result['ratio_of']}: {result['ratio']:.2f}x; validation loss difference "
                   f"{result['eval_loss_diff']:+.4f} (start {result['eval_loss_start']:.4f})")
        return
    for name, run in result["runs"].items():
        typer.echo(f"{name:>18}: {run['tokens_per_s']:8.0f} tokens/s ({run['wall_s']:.1f} s)")
    typer.echo(f"speed-up ours/plain: {result['ratio']:.2f}x "
               f"(masked-only head alone: {result['ratio_head_only']:.2f}x)")


def sweep(
    config: Path = typer.Argument(..., help="Sweep config: configs/pretrain/sweep_<profile>.cfg (profile, minutes, "
                                  "variants as profile overrides).", exists=True, dir_okay=False),
    corpus: Path = typer.Argument(..., help=f"Corpus: {CORPUS_HELP}.", exists=True, file_okay=False),
    output: Path = typer.Argument(..., help="Output folder: sweep.json, README.md, sweep.png (and tokenizer/ when "
                                  "none is given)."),
    tokenizer: Optional[Path] = typer.Option(
        None, "--tokenizer", help="Tokenizer folder shared by every variant (e.g. the pretrain stage's "
        "tokenizer/); default: one trained on CORPUS with the profile's \\[tokenizer].", exists=True, file_okay=False),
    minutes: Optional[float] = typer.Option(None, "--minutes", help="Override \\[sweep] minutes (training budget "
                                            "of each variant)."),
) -> None:
    """MLM validation loss against minutes at a fixed wall-clock budget, one curve per variant.

    Each variant (model shape, sequence length, batch, precision) trains from scratch with the
    same tokenizer, data and seed for the same number of minutes; the schedule is sized to the
    budget from a few timed steps, and training stops at the budget. All variants are scored on
    the same validation blocks with the same masks; evaluation time is not counted.
    """
    from .sweep import run_sweep

    with _errors():
        result = run_sweep(config, corpus, output, tokenizer, minutes)
    for name, run in result["variants"].items():
        typer.echo(f"{name:>16}: loss {run['eval_loss']:.3f} (perplexity {run['perplexity']:.1f}), "
                   f"{run['steps']} steps, {run['tokens_per_s']:,.0f} tokens/s")
    typer.echo(f"best: {result['best']}; wrote {output / 'README.md'}, {output / 'sweep.png'}")
