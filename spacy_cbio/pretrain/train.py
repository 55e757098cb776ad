"""One MLM training run with transformers' ``Trainer``.

Trainer gives checkpoints with optimizer, scheduler and RNG state; masks
depend only on ``(seed, sample idx)`` and the sampler is seeded, so
``resume=True`` continues a killed run at the same step on the same data.
"""
from __future__ import annotations

import json
import logging
import math
import os
import shutil
import time
from pathlib import Path
from typing import Any, Dict, Optional, Sequence

import torch
from accelerate import PartialState
from transformers import Trainer, TrainerCallback, TrainingArguments
from transformers.trainer_utils import get_last_checkpoint

from .collator import DataCollatorForSentencePieceWholeWordMask
from .data import PackedBlocks
from .modeling import as_masked_only, to_plain_mlm

logger = logging.getLogger(__name__)

METRICS_FILE = "metrics.jsonl"
RUN_INFO_FILE = "run_info.json"

# [training] keys and defaults
TRAINING_DEFAULTS: Dict[str, Any] = {
    "seq_len": 128,
    "batch_size": 16,
    "grad_accum": 1,
    "lr": 5e-4,
    "warmup_ratio": 0.06,
    "beta2": 0.98,
    "adam_epsilon": 1e-6,
    "weight_decay": 0.01,
    "max_steps": 100,
    "eval_steps": 50,
    "save_steps": 50,
    "logging_steps": 10,
    "save_total_limit": 2,
    "mlm_probability": 0.15,
    "seed": 0,
    "num_threads": 0,
    "max_eval_blocks": 200,
    "precision": "auto",
    "masked_only_head": True,
}


def training_settings(section: Dict[str, Any]) -> Dict[str, Any]:
    """``[training]`` merged over the defaults; unknown keys are an error."""
    unknown = set(section) - set(TRAINING_DEFAULTS)
    if unknown:
        raise ValueError(f"[training]: unknown keys {sorted(unknown)}; expected {sorted(TRAINING_DEFAULTS)}")
    return {**TRAINING_DEFAULTS, **section}


def set_threads(num_threads: int) -> int:
    """Use ``num_threads`` CPU threads (0 = all cores); returns the number set."""
    n = num_threads or os.cpu_count() or 1
    torch.set_num_threads(n)
    return n


class MetricsLogger(TrainerCallback):
    """Append every log/eval event to ``metrics.jsonl`` with perplexity and tokens/s.

    tokens/s counts input tokens over the time spent inside optimizer steps
    (data loading of the step included, evaluation and checkpointing not).
    """

    def __init__(self, path: Path, run: str, is_main: bool = True):
        self.path = path
        self.run = run
        self.is_main = is_main
        self._t0: Optional[float] = None
        self.step_time = 0.0
        self._mark = (0.0, 0)  # (step_time, tokens) at the last train log
        self.last: Dict[str, Any] = {}

    def on_train_begin(self, args, state, control, **kw):
        self._mark = (self.step_time, state.num_input_tokens_seen)

    def on_step_begin(self, args, state, control, **kw):
        self._t0 = time.perf_counter()

    def on_step_end(self, args, state, control, **kw):
        if self._t0 is not None:
            self.step_time += time.perf_counter() - self._t0
            self._t0 = None

    def on_log(self, args, state, control, logs=None, **kw):
        logs = dict(logs or {})
        rec: Dict[str, Any] = {"run": self.run, "step": state.global_step, "time": time.time()}
        rec.update(logs)
        if "eval_loss" in logs:
            rec["eval_perplexity"] = math.exp(min(logs["eval_loss"], 50.0))
        if "loss" in logs:
            dt = self.step_time - self._mark[0]
            dtok = state.num_input_tokens_seen - self._mark[1]
            if dt > 0:
                rec["tokens_per_s"] = dtok / dt
            self._mark = (self.step_time, state.num_input_tokens_seen)
        rec["tokens_seen"] = state.num_input_tokens_seen
        self.last.update(rec)
        if self.is_main:
            with self.path.open("a", encoding="utf8") as f:
                f.write(json.dumps(rec) + "\n")


def truncate_metrics(path: Path, step: int) -> int:
    """Drop records after ``step`` (a killed run's tail, replayed by resume); returns how many."""
    if not path.exists():
        return 0
    lines = path.read_text(encoding="utf8").splitlines()
    keep = [line for line in lines if line.strip() and json.loads(line).get("step", 0) <= step]
    path.write_text("".join(line + "\n" for line in keep), encoding="utf8")
    return len(lines) - len(keep)


def _precision(setting: str) -> Dict[str, bool]:
    if setting == "auto":
        if torch.cuda.is_available():
            return {"bf16": True} if torch.cuda.is_bf16_supported() else {"fp16": True}
        return {}
    if setting in ("bf16", "fp16"):
        return {setting: True}
    if setting == "fp32":
        return {}
    raise ValueError(f"[training] precision={setting!r}: expected auto, fp32, bf16 or fp16")


def training_arguments(cfg: Dict[str, Any], checkpoint_dir: Path, eval_on_start: bool) -> TrainingArguments:
    """TrainingArguments for a ``[training]`` section."""
    return TrainingArguments(
        output_dir=str(checkpoint_dir),
        max_steps=int(cfg["max_steps"]),
        per_device_train_batch_size=int(cfg["batch_size"]),
        per_device_eval_batch_size=int(cfg["batch_size"]),
        gradient_accumulation_steps=int(cfg["grad_accum"]),
        learning_rate=float(cfg["lr"]),
        warmup_ratio=float(cfg["warmup_ratio"]),
        lr_scheduler_type="linear",
        adam_beta1=0.9,
        adam_beta2=float(cfg["beta2"]),
        adam_epsilon=float(cfg["adam_epsilon"]),
        weight_decay=float(cfg["weight_decay"]),
        max_grad_norm=1.0,
        logging_steps=int(cfg["logging_steps"]),
        logging_first_step=True,
        eval_strategy="steps",
        eval_steps=int(cfg["eval_steps"]),
        eval_on_start=eval_on_start,
        save_strategy="steps",
        save_steps=int(cfg["save_steps"]),
        save_total_limit=int(cfg["save_total_limit"]),
        save_safetensors=True,
        seed=int(cfg["seed"]),
        data_seed=int(cfg["seed"]),
        report_to=[],
        dataloader_num_workers=0,
        remove_unused_columns=False,
        prediction_loss_only=True,
        include_num_input_tokens_seen=True,
        use_cpu=not torch.cuda.is_available(),
        disable_tqdm=False,
        **_precision(cfg["precision"]),
    )


def run_mlm(
    run: str,
    model,
    tokenizer,
    train_blocks: PackedBlocks,
    eval_blocks: PackedBlocks,
    cfg: Dict[str, Any],
    run_dir: Path,
    resume: bool = False,
    callbacks: Sequence[TrainerCallback] = (),
) -> Dict[str, Any]:
    """Train ``model`` for ``cfg['max_steps']`` optimizer steps; save it in ``run_dir``.

    ``run_dir/checkpoints`` holds Trainer checkpoints; ``run_dir`` ends up a
    Hugging Face model dir (safetensors, tokenizer, config, metrics.jsonl).
    With ``resume`` the last checkpoint is continued; otherwise old
    checkpoints and metrics are removed first. Returns a summary dict.
    """
    cfg = training_settings(cfg)
    threads = set_threads(int(cfg["num_threads"]))
    run_dir = Path(run_dir)
    ckpt_dir = run_dir / "checkpoints"
    metrics = run_dir / METRICS_FILE
    last_ckpt = get_last_checkpoint(str(ckpt_dir)) if resume and ckpt_dir.is_dir() else None
    state = PartialState()
    if state.is_main_process:  # file system changes once, also under DDP
        if not last_ckpt:
            if ckpt_dir.exists():
                shutil.rmtree(ckpt_dir)
            if metrics.exists():
                metrics.unlink()
        else:
            step = int(Path(last_ckpt).name.split("-")[-1])
            dropped = truncate_metrics(metrics, step)
            logger.info("%s: resuming from %s (%d metric records after it dropped)", run, last_ckpt, dropped)
        run_dir.mkdir(parents=True, exist_ok=True)
    state.wait_for_everyone()

    if cfg["masked_only_head"]:
        model = as_masked_only(model)
    eff_batch = int(cfg["batch_size"]) * int(cfg["grad_accum"]) * max(1, int(os.environ.get("WORLD_SIZE", "1")))
    train_ds = train_blocks.repeat_to(int(cfg["max_steps"]) * eff_batch)
    eval_ds = PackedBlocks(
        eval_blocks.flat, eval_blocks.offsets[: min(eval_blocks.n_blocks, int(cfg["max_eval_blocks"])) + 1]
    )
    collator = DataCollatorForSentencePieceWholeWordMask(
        tokenizer=tokenizer, mlm_probability=float(cfg["mlm_probability"]), mask_seed=int(cfg["seed"]), pad_to_multiple_of=8
    )
    args = training_arguments(cfg, ckpt_dir, eval_on_start=last_ckpt is None)
    logger_cb = MetricsLogger(metrics, run, is_main=args.process_index == 0)
    trainer = Trainer(
        model=model,
        args=args,
        train_dataset=train_ds,
        eval_dataset=eval_ds,
        data_collator=collator,
        callbacks=[logger_cb, *callbacks],
    )
    start = time.time()
    result = trainer.train(resume_from_checkpoint=last_ckpt or None)
    wall = time.time() - start
    final_eval = trainer.evaluate()
    summary = _summary(run, trainer, logger_cb, result, final_eval, wall, threads, train_blocks, eval_ds, cfg, metrics)
    if trainer.is_world_process_zero():
        plain = to_plain_mlm(trainer.model)
        plain.save_pretrained(str(run_dir), safe_serialization=True)
        tokenizer.save_pretrained(str(run_dir))
        (run_dir / RUN_INFO_FILE).write_text(json.dumps(summary, indent=2), encoding="utf8")
    return summary


def _summary(run, trainer, cb, result, final_eval, wall, threads, train_blocks, eval_ds, cfg, metrics) -> Dict[str, Any]:
    records = [json.loads(line) for line in metrics.read_text(encoding="utf8").splitlines() if line.strip()]
    losses = [r["loss"] for r in records if "loss" in r]
    evals = [r["eval_loss"] for r in records if "eval_loss" in r]
    speeds = [r["tokens_per_s"] for r in records if "tokens_per_s" in r]
    return {
        "run": run,
        "completed": True,
        "steps": trainer.state.global_step,
        "tokens_seen": trainer.state.num_input_tokens_seen,
        "train_blocks": train_blocks.n_blocks,
        "train_tokens_unique": train_blocks.n_tokens,
        "eval_blocks": len(eval_ds),
        "wall_time_s": wall,
        "train_loss_first": losses[0] if losses else None,
        "train_loss_last": losses[-1] if losses else None,
        "eval_loss_first": evals[0] if evals else None,
        "eval_loss_final": final_eval.get("eval_loss"),
        "eval_perplexity_final": math.exp(min(final_eval.get("eval_loss", float("nan")), 50.0)),
        "tokens_per_s": (sum(speeds) / len(speeds)) if speeds else None,
        "threads": threads,
        "settings": cfg,
    }
