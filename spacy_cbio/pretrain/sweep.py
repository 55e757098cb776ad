"""Pretraining budget sweep: MLM validation loss against wall-clock minutes, one curve per variant.

A sweep config (``configs/pretrain/sweep_<profile>.cfg``) names a pretraining profile, a
budget in minutes and variants, each a set of profile overrides (model shape, sequence length,
batch, precision)::

    [sweep]
    profile = "configs/pretrain/small.cfg"
    minutes = 3
    evals = 6                  # validation points per curve (plus one before training)
    eval_seq_len = 128         # every variant is scored on the same validation blocks

    [variants]

    [variants.current]         # the profile as it is

    [variants.wide_2x256]
    model.layers = 2
    model.hidden = 256

Every variant trains from scratch (same tokenizer, same data order, same seed) for the same
wall-clock budget: a few timed steps estimate the step time, the schedule (warmup, linear decay)
is sized to the budget, and training stops at the budget whatever the estimate said. The loss
is measured on the same validation blocks for all variants, with fixed masks, in fp32, and the
time spent evaluating is not counted. Writes ``sweep.json``, ``README.md`` and ``sweep.png``.
"""
from __future__ import annotations

import copy
import json
import logging
import math
import shutil
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Union

import torch
from pydantic import Field, field_validator
from transformers import AutoTokenizer, PrinterCallback, Trainer, TrainerCallback

from ..reporting import markdown_table
from .blocks import iter_texts, load_corpus, tokenize_and_pack
from .card import hardware, library_versions
from .collator import DataCollatorForSentencePieceWholeWordMask
from ..settings import SettingsError, SettingsModel, load_config, validate_block
from .config import PretrainProfile, load_profile
from .mlm import TrainingSettings, masked_lm_loss, set_threads, training_arguments
from .modeling import as_masked_only, init_model, max_tokens_for
from .tokenizer import train_tokenizer

PathLike = Union[str, Path]
logger = logging.getLogger(__name__)


class SweepSettings(SettingsModel):
    """``[sweep]``: the profile the variants override, the budget and the validation points."""

    # the pretraining profile (configs/pretrain/<profile>.cfg), required
    profile: Optional[str] = Field(default=None, validate_default=True)
    minutes: float = 3.0  # training minutes per variant
    evals: int = 6  # validation points per curve (plus one before training)
    eval_seq_len: int = 128  # every variant is scored on the same validation blocks
    calibration_steps: int = 4  # timed steps that estimate a variant's step time

    @field_validator("profile")
    @classmethod
    def _profile_given(cls, value: Optional[str]) -> Optional[str]:
        if not value:
            raise ValueError("a configs/pretrain/<profile>.cfg is required")
        return value

    @field_validator("minutes")
    @classmethod
    def _positive_minutes(cls, value: float) -> float:
        if value <= 0:
            raise ValueError("must be > 0")
        return value

    @field_validator("evals")
    @classmethod
    def _some_evals(cls, value: int) -> int:
        if value < 1:
            raise ValueError("must be >= 1")
        return value


def load_sweep(path: PathLike) -> Dict[str, Any]:
    """Read a sweep config: ``{"sweep": SweepSettings, "variants": {name: {dotted key: value}},
    "profiles": {name: the profile (PretrainProfile) with the variant's overrides}}``.

    RAISES: FileNotFoundError; :class:`~spacy_cbio.settings.SettingsError` naming the file, block and key.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no sweep config {path}")
    config = load_config(path, interpolate=False)
    sweep = validate_block(config.get("sweep", {}), SweepSettings, source=str(path), section="sweep")
    variants = {name: _flatten(dict(block)) for name, block in config.get("variants", {}).items()}
    if not variants:
        raise ValueError(f"{path}: no [variants.<name>] block")
    # unknown keys and wrong types fail here, before any training
    profiles: Dict[str, PretrainProfile] = {}
    for name, overrides in variants.items():
        try:
            profiles[name] = load_profile(sweep.profile, overrides)
        except SettingsError as err:
            raise SettingsError(f"{path}: [variants.{name}] over {err}", source=str(path),
                                section=f"variants.{name}", problems=err.problems) from None
    return {"sweep": sweep, "variants": variants, "profiles": profiles}


def _flatten(block: Dict[str, Any], prefix: str = "") -> Dict[str, Any]:
    """``{"model": {"layers": 2}}`` or ``{"model.layers": 2}`` -> ``{"model.layers": 2}``."""
    out: Dict[str, Any] = {}
    for key, value in block.items():
        if isinstance(value, dict):
            out.update(_flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


class WallClockCurve(TrainerCallback):
    """Stop at a training-time budget; evaluate every ``every`` steps and at the end.

    Evaluation time is excluded from the training clock, so curves of variants that evaluate
    at different rates are comparable.
    """

    def __init__(self, budget_s: float, every: int, evaluate: Callable[[Any], float], tokens_per_step: int):
        self.budget_s, self.every, self.evaluate = budget_s, max(1, every), evaluate
        self.tokens_per_step = tokens_per_step
        self.curve: List[Dict[str, float]] = []
        self.start = 0.0
        self.eval_s = 0.0

    def train_seconds(self) -> float:
        return time.perf_counter() - self.start - self.eval_s

    def _point(self, step: int, model) -> None:
        seconds = self.train_seconds()
        began = time.perf_counter()
        loss = self.evaluate(model)
        self.eval_s += time.perf_counter() - began
        self.curve.append({"step": step, "minutes": seconds / 60, "tokens": step * self.tokens_per_step,
                           "eval_loss": loss})

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        self.start, self.eval_s = time.perf_counter(), 0.0

    def on_step_end(self, args, state, control, model=None, **kwargs):
        over = self.train_seconds() >= self.budget_s
        if over or state.global_step % self.every == 0 or state.global_step >= state.max_steps:
            self._point(state.global_step, model)
        if over:
            control.should_training_stop = True
        return control


class StepTimes(TrainerCallback):
    """Wall-clock time at the end of every optimizer step."""

    def __init__(self):
        self.times: List[float] = []

    def on_step_end(self, args, state, control, **kwargs):
        self.times.append(time.perf_counter())

    def seconds_per_step(self) -> float:
        """Mean step time after the first step (warm-up: thread pools, allocator)."""
        if len(self.times) < 2:
            raise ValueError("step timing needs at least 2 steps")
        return (self.times[-1] - self.times[0]) / (len(self.times) - 1)


def _train(model, blocks, collator, settings: TrainingSettings, workdir: Path, steps: int, callbacks=()) -> Trainer:
    args = training_arguments(settings.model_copy(update={"max_steps": steps}), workdir, eval_on_start=False, checkpoints=False)
    trainer = Trainer(model=model, args=args, train_dataset=blocks, data_collator=collator, callbacks=list(callbacks))
    trainer.remove_callback(PrinterCallback)  # the per-run summary dict; the sweep prints its own lines
    trainer.train()
    return trainer


def run_variant(name: str, profile: PretrainProfile, tokenizer, corpus_splits, valid, eval_settings: TrainingSettings,
                sweep: SweepSettings, workdir: Path) -> Dict[str, Any]:
    """Train one variant from scratch for the sweep's budget; RETURNS its record and curve.

    ``eval_settings``: the base profile's settings, so every variant is scored with the same
    masks and batches. Progress goes to this module's logger.
    """
    # a copy, explicit: "auto" would inherit a bf16 variant's setting
    settings = profile.training.model_copy(update={"precision": precision_name(profile.training)})
    threads = set_threads(settings.num_threads)
    # sequences per optimizer step (the profile's batch x gradient accumulation)
    seq_len, batch = settings.seq_len, settings.batch_size * settings.grad_accum
    budget_s = 60 * sweep.minutes
    model, tokenizer = init_model(profile.model, tokenizer, seed=settings.seed)
    if sweep.eval_seq_len > max_tokens_for(model.config):
        raise ValueError(f"variant {name}: [sweep] eval_seq_len {sweep.eval_seq_len} is longer than the "
                         f"{max_tokens_for(model.config)} tokens its [model] max_len embeds")
    model = as_masked_only(model)
    params = sum(p.numel() for p in model.parameters())
    collator = DataCollatorForSentencePieceWholeWordMask(
        tokenizer=tokenizer, mlm_probability=settings.mlm_probability, mask_seed=settings.seed,
        pad_to_multiple_of=8)
    # step time: a few steps on a copy (the variant starts untouched), the first one not counted
    n_cal = max(1, sweep.calibration_steps) + 1
    cal = tokenize_and_pack(corpus_splits["train"], tokenizer, seq_len, n_cal * batch, desc=f"{name}: packing").repeat_to(
        n_cal * batch)
    timer = StepTimes()
    _train(copy.deepcopy(model), cal, collator, settings, workdir, n_cal, callbacks=[timer])
    step_s = timer.seconds_per_step()
    steps = max(sweep.evals, int(budget_s / step_s))
    logger.info("[sweep] %s: %.2fM parameters, batch %d x %d, %d threads, %s: %.3f s/step -> %d steps in %s min",
                name, params / 1e6, batch, seq_len, threads, settings.precision, step_s, steps, sweep.minutes)
    blocks = tokenize_and_pack(corpus_splits["train"], tokenizer, seq_len, steps * batch, seed=settings.seed,
                               desc=f"{name}: packing").repeat_to(steps * batch)
    max_eval = eval_settings.max_eval_blocks

    def evaluate(m) -> float:
        return masked_lm_loss(m, valid, tokenizer, eval_settings, max_eval)

    curve = WallClockCurve(budget_s, max(1, steps // sweep.evals), evaluate, batch * seq_len)
    start_loss = evaluate(model)
    _train(model, blocks, collator, settings, workdir, steps, callbacks=[curve])
    points = [{"step": 0, "minutes": 0.0, "tokens": 0, "eval_loss": start_loss}, *curve.curve]
    final = points[-1]
    logger.info("[sweep] %s: validation loss %.3f -> %.3f (perplexity %.1f) after %d steps, %.2f min", name,
                start_loss, final["eval_loss"], math.exp(final["eval_loss"]), final["step"], final["minutes"])
    return {"overrides": {}, "parameters": params, "layers": profile.model.layers,
            "hidden": profile.model.hidden, "seq_len": seq_len, "batch_size": batch,
            "precision": settings.precision, "threads": threads, "step_s": step_s, "planned_steps": steps,
            "steps": final["step"], "tokens": final["tokens"], "tokens_per_s": final["tokens"] / max(60 * final["minutes"], 1e-9),
            "eval_loss": final["eval_loss"], "perplexity": math.exp(final["eval_loss"]), "curve": points}


def precision_name(settings: TrainingSettings) -> str:
    """``[training] precision`` made explicit: ``auto`` is fp32 on CPU, bf16 (or fp16) on a GPU."""
    if settings.precision != "auto":
        return settings.precision
    if not torch.cuda.is_available():
        return "fp32"
    return "bf16" if torch.cuda.is_bf16_supported() else "fp16"


def run_sweep(config: PathLike, corpus: PathLike, output: PathLike, tokenizer_dir: Optional[PathLike] = None,
              minutes: Optional[float] = None) -> Dict[str, Any]:
    """Every variant of the sweep config for the same budget; writes sweep.json, README.md, sweep.png.

    Progress goes to this module's logger.
    """
    spec = load_sweep(config)
    sweep, variants = spec["sweep"], spec["variants"]
    if minutes is not None:
        if minutes <= 0:
            raise ValueError(f"minutes must be > 0, not {minutes}")
        sweep.minutes = float(minutes)
    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    corpus_splits = load_corpus(corpus)
    base = load_profile(sweep.profile)
    if tokenizer_dir:
        tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_dir))
    else:
        tokenizer = train_tokenizer(iter_texts(corpus_splits["train"], base.tokenizer.max_texts), output / "tokenizer",
                                    base.tokenizer.vocab_size, base.tokenizer.seed)
    eval_len = sweep.eval_seq_len
    eval_settings = base.training
    valid = tokenize_and_pack(corpus_splits["validation"], tokenizer, eval_len, eval_settings.max_eval_blocks,
                              desc="validation")
    if valid.n_blocks == 0:
        raise ValueError(f"{corpus}: the validation split gives no {eval_len}-token block")
    logger.info("[sweep] %d variant(s) x %s min of training each, scored on %d validation blocks of %d tokens",
                len(variants), sweep.minutes, valid.n_blocks, eval_len)
    results: Dict[str, Any] = {}
    began = time.perf_counter()
    for name, overrides in variants.items():
        record = run_variant(name, spec["profiles"][name], tokenizer, corpus_splits, valid, eval_settings, sweep, output / "work")
        record["overrides"] = overrides
        results[name] = record
    shutil.rmtree(output / "work", ignore_errors=True)
    result = {"sweep": {**sweep.model_dump(), "config": str(config)}, "corpus": str(corpus),
              "tokenizer": str(tokenizer_dir) if tokenizer_dir else str(output / "tokenizer"),
              "eval_blocks": valid.n_blocks, "variants": results, "best": min(results, key=lambda n: results[n]["eval_loss"]),
              "wall_s": time.perf_counter() - began, "hardware": hardware(), "versions": library_versions()}
    (output / "sweep.json").write_text(json.dumps(result, indent=2), encoding="utf8")
    (output / "README.md").write_text(sweep_markdown(result), encoding="utf8")
    plot_sweep(result, output / "sweep.png")
    return result


def sweep_markdown(result: Dict[str, Any]) -> str:
    """The sweep as a table: one row per variant, best validation loss in bold."""
    sweep = result["sweep"]
    lines = [
        "# Pretraining budget sweep",
        "",
        f"Every variant trained from scratch for {sweep['minutes']} min of wall-clock training "
        f"(`{sweep['config']}` over `{sweep['profile']}`; corpus `{result['corpus']}`), scored on the same "
        f"{result['eval_blocks']} validation blocks of {sweep['eval_seq_len']} tokens (fixed whole-word masks, fp32). "
        f"{result['hardware'].get('cpu', '')} ({result['hardware'].get('cpu_cores', '?')} cores).",
        "",
    ]
    rows = []
    for name, r in result["variants"].items():
        over = ", ".join(f"{k}={v}" for k, v in r["overrides"].items()) or "(profile)"
        loss = f"{r['eval_loss']:.3f}"
        if name == result["best"]:
            loss = f"**{loss}**"
        rows.append((name, over, f"{r['parameters'] / 1e6:.2f}M", f"{r['batch_size']} x {r['seq_len']}",
                     f"{r['step_s']:.3f}", r["steps"], f"{r['tokens_per_s']:,.0f}", loss, f"{r['perplexity']:.1f}"))
    lines.append(markdown_table(rows, ["variant", "overrides", "parameters", "batch x seq", "s/step", "steps",
                                       "tokens/s", "validation loss", "perplexity"], aligns="llrlrrrrr"))
    lines += ["", f"Best: `{result['best']}`. Curves: `sweep.png`, points in `sweep.json`.", ""]
    return "\n".join(lines)


def plot_sweep(result: Dict[str, Any], path: Path) -> Path:
    """Validation loss against training minutes, one line per variant."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for name, r in result["variants"].items():
        points = r["curve"][1:] or r["curve"]
        ax.plot([p["minutes"] for p in points], [p["eval_loss"] for p in points], marker="o", label=name)
    ax.set_xlabel("training minutes (evaluation excluded)")
    ax.set_ylabel("MLM validation loss")
    ax.set_title(f"Pretraining at a fixed budget ({result['sweep']['minutes']} min)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
