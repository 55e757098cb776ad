"""One masked-language-model training run with transformers' ``Trainer``.

Trainer gives checkpoints with optimizer, scheduler and RNG state; masks
depend only on ``(seed, sample idx)`` and the sampler is seeded, so
``resume=True`` continues a killed run at the same step on the same data.
``checkpoints/settings.json`` records what a run was started with (the
``[training]`` settings and digests of the data, tokenizer and initial
weights): resuming from a checkpoint made with anything else is an error
(:class:`ResumeMismatch`), never a silent mix of two runs.
"""
from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import shutil
import time
from pathlib import Path
from typing import Any, Dict, Literal, Mapping, Optional, Sequence, Union

import numpy as np
import torch
from accelerate import PartialState
from transformers import Trainer, TrainerCallback, TrainingArguments
from transformers.trainer_utils import get_last_checkpoint

from ..settings import SettingsModel, validate_block
from .collator import DataCollatorForSentencePieceWholeWordMask
from .blocks import PackedBlocks
from .modeling import as_masked_only, to_plain_mlm

logger = logging.getLogger(__name__)

METRICS_FILE = "metrics.jsonl"
RUN_INFO_FILE = "run_info.json"
CHECKPOINT_DIR = "checkpoints"
SETTINGS_FILE = "settings.json"  # in CHECKPOINT_DIR: what the checkpoints were made with

# settings that may change between a killed run and its resume (they do not change the result's meaning)
RESUME_FREE_KEYS = ("num_threads",)

class TrainingSettings(SettingsModel):
    """``[training]``: one masked-LM run (optimizer, schedule, checkpoints, masks)."""

    seq_len: int = 128
    batch_size: int = 16
    grad_accum: int = 1
    lr: float = 5e-4
    warmup_ratio: float = 0.06
    beta2: float = 0.98
    adam_epsilon: float = 1e-6
    weight_decay: float = 0.01
    max_steps: int = 100
    eval_steps: int = 50
    save_steps: int = 50
    logging_steps: int = 10
    save_total_limit: int = 2
    mlm_probability: float = 0.15
    seed: int = 0
    num_threads: int = 0
    max_eval_blocks: int = 200
    # auto: bf16 on GPUs that have it, else fp16 (fp32 on CPU)
    precision: Literal["auto", "fp32", "bf16", "fp16"] = "auto"
    masked_only_head: bool = True


def process_state() -> PartialState:
    """accelerate's view of this process group (rank, world size), also on CPU.

    On a machine without CUDA, ``PartialState()`` alone ignores torchrun's
    (or ``accelerate launch --multi_gpu``'s) process group until the
    Trainer's arguments reset it: every process then believed it was the
    only (main) one, and all of them cleared and wrote the output folders.
    With ``cpu=True`` there, the processes form a gloo group from the start.
    """
    return PartialState(cpu=not torch.cuda.is_available())


def training_settings(section: Union[TrainingSettings, Mapping[str, Any]], source: str = "") -> TrainingSettings:
    """``[training]`` as typed settings over the defaults (a :class:`TrainingSettings` is returned as is).

    RAISES: :class:`~spacy_cbio.settings.SettingsError` for an unknown key or a wrong type.
    """
    return validate_block(section, TrainingSettings, source=source, section="training")


def set_threads(num_threads: int) -> int:
    """Use ``num_threads`` CPU threads (0 = all cores); returns the number set."""
    n = num_threads or os.cpu_count() or 1
    torch.set_num_threads(n)
    return n


def effective_batch(args: TrainingArguments) -> int:
    """Sequences per optimizer step: per device x gradient accumulation x processes."""
    return args.per_device_train_batch_size * args.gradient_accumulation_steps * args.world_size


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
        self.final = False  # set for the evaluation after training (tagged, replaced on resume)

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
            rec["effective_batch"] = effective_batch(args)
            dt = self.step_time - self._mark[0]
            dtok = state.num_input_tokens_seen - self._mark[1]
            if dt > 0:
                rec["tokens_per_s"] = dtok / dt
            self._mark = (self.step_time, state.num_input_tokens_seen)
        rec["tokens_seen"] = state.num_input_tokens_seen
        if self.final:
            rec["final"] = True
        self.last.update(rec)
        if self.is_main:
            with self.path.open("a", encoding="utf8") as f:
                f.write(json.dumps(rec) + "\n")


def _end_of_run(record: Dict[str, Any]) -> bool:
    """The records ``trainer.train()`` and the final evaluation write once training is over."""
    return "train_loss" in record or bool(record.get("final"))


def truncate_metrics(path: Path, step: int) -> int:
    """Drop the records a resume from ``step`` writes again; returns how many.

    Those are the records after ``step`` (a killed run's tail) and the
    end-of-run records (a finished run resumed from its last checkpoint).
    """
    if not path.exists():
        return 0
    lines = path.read_text(encoding="utf8").splitlines()
    keep = [
        line
        for line in lines
        if line.strip() and json.loads(line).get("step", 0) <= step and not _end_of_run(json.loads(line))
    ]
    path.write_text("".join(line + "\n" for line in keep), encoding="utf8")
    return len(lines) - len(keep)


def _precision(setting: str) -> Dict[str, bool]:
    """TrainingArguments flags for ``[training] precision``; also pins accelerate's process-wide choice.

    TrainingArguments writes bf16/fp16 into ``ACCELERATE_MIXED_PRECISION``
    but never clears it, and the Trainer's Accelerator reads that variable:
    without pinning it, an fp32 run after a bf16 one in the same process
    (or under ``accelerate launch --mixed_precision bf16``) silently ran in
    bf16. An explicit fp32/bf16/fp16 setting wins; ``auto`` on CPU keeps
    what the launcher set (fp32 by default).
    """
    if setting in ("fp32", "bf16", "fp16"):
        os.environ["ACCELERATE_MIXED_PRECISION"] = "no" if setting == "fp32" else setting
    if setting == "auto":
        if torch.cuda.is_available():
            return {"bf16": True} if torch.cuda.is_bf16_supported() else {"fp16": True}
        return {}
    if setting in ("bf16", "fp16"):
        return {setting: True}
    if setting == "fp32":
        return {}
    raise ValueError(f"[training] precision={setting!r}: expected auto, fp32, bf16 or fp16")


def training_arguments(cfg: Union[TrainingSettings, Mapping[str, Any]], checkpoint_dir: Path, eval_on_start: bool,
                       checkpoints: bool = True) -> TrainingArguments:
    """TrainingArguments for a ``[training]`` section; ``checkpoints=False``: the same optimizer
    and schedule without evaluation, saving, logging or progress bars (e.g. a timed sweep)."""
    cfg = training_settings(cfg)
    kwargs: Dict[str, Any] = dict(
        output_dir=str(checkpoint_dir),
        max_steps=cfg.max_steps,
        per_device_train_batch_size=cfg.batch_size,
        per_device_eval_batch_size=cfg.batch_size,
        gradient_accumulation_steps=cfg.grad_accum,
        learning_rate=cfg.lr,
        warmup_ratio=cfg.warmup_ratio,
        lr_scheduler_type="linear",
        adam_beta1=0.9,
        adam_beta2=cfg.beta2,
        adam_epsilon=cfg.adam_epsilon,
        weight_decay=cfg.weight_decay,
        max_grad_norm=1.0,
        logging_steps=cfg.logging_steps,
        logging_first_step=True,
        eval_strategy="steps",
        eval_steps=cfg.eval_steps,
        eval_on_start=eval_on_start,
        save_strategy="steps",
        save_steps=cfg.save_steps,
        save_total_limit=cfg.save_total_limit,
        save_safetensors=True,
        seed=cfg.seed,
        data_seed=cfg.seed,
        report_to=[],
        dataloader_num_workers=0,
        remove_unused_columns=False,
        prediction_loss_only=True,
        include_num_input_tokens_seen=True,
        use_cpu=not torch.cuda.is_available(),
        disable_tqdm=False,
        **_precision(cfg.precision),
    )
    if not checkpoints:
        kwargs.update(eval_strategy="no", eval_on_start=False, save_strategy="no", logging_strategy="no",
                      disable_tqdm=True)
    return TrainingArguments(**kwargs)


class PretrainTrainer(Trainer):
    """``Trainer`` that resumes multi-process CPU runs.

    transformers loads the optimizer state with ``map_location=args.device``
    when several processes train; on CPU that device is ``cpu:<local rank>``,
    which ``torch.load`` cannot restore to ("don't know how to restore data
    location ... (tagged with cpu:0)"), so a killed ``torchrun``/``accelerate
    launch`` CPU run could not be resumed. There the state is loaded to ``cpu``.
    """

    def _load_optimizer_and_scheduler(self, checkpoint):
        if (checkpoint is None or self.args.world_size <= 1 or self.args.device.type != "cpu"
                or self.is_deepspeed_enabled or self.is_fsdp_enabled):
            return super()._load_optimizer_and_scheduler(checkpoint)
        optimizer, scheduler = (os.path.join(checkpoint, n) for n in ("optimizer.pt", "scheduler.pt"))
        if os.path.isfile(optimizer) and os.path.isfile(scheduler):
            self.optimizer.load_state_dict(torch.load(optimizer, map_location="cpu", weights_only=True))
            self.lr_scheduler.load_state_dict(torch.load(scheduler, map_location="cpu", weights_only=True))
        return None


class ResumeMismatch(ValueError):
    """``--resume`` found a checkpoint made with other settings, data or initial weights."""


def _sha256(chunks) -> str:
    h = hashlib.sha256()
    for chunk in chunks:
        h.update(chunk)
    return h.hexdigest()[:16]


def blocks_digest(blocks: PackedBlocks) -> str:
    """Digest of packed blocks (the token ids, their order and the block cuts)."""
    return _sha256([np.ascontiguousarray(blocks.flat).tobytes(), np.ascontiguousarray(blocks.offsets).tobytes()])


def weights_digest(model) -> str:
    """Digest of a model's parameters and buffers (names, dtypes, shapes, values)."""

    def chunks():
        for name, tensor in sorted(model.state_dict().items()):
            t = tensor.detach().cpu().contiguous()
            yield f"{name}:{t.dtype}:{tuple(t.shape)}".encode("utf8")
            yield t.reshape(-1).view(torch.uint8).numpy().tobytes()

    return _sha256(chunks())


def tokenizer_digest(tokenizer) -> str:
    """Digest of a tokenizer's vocabulary and special tokens."""
    vocab = sorted(tokenizer.get_vocab().items())
    return _sha256([json.dumps([vocab, tokenizer.all_special_tokens], ensure_ascii=False).encode("utf8")])


def resume_record(
    cfg: TrainingSettings, model, tokenizer, train_blocks: PackedBlocks, eval_blocks: PackedBlocks
) -> Dict[str, Any]:
    """What a run is made of: its settings and digests of its inputs (see :data:`SETTINGS_FILE`)."""
    return {
        "settings": {k: v for k, v in sorted(cfg.model_dump().items()) if k not in RESUME_FREE_KEYS},
        "digests": {
            "initial weights": weights_digest(model),
            "tokenizer": tokenizer_digest(tokenizer),
            "training data (corpus, tokenizer and data order)": blocks_digest(train_blocks),
            "validation data": blocks_digest(eval_blocks),
        },
    }


def check_resume(ckpt_dir: Path, record: Dict[str, Any]) -> None:
    """Raise :class:`ResumeMismatch` unless ``ckpt_dir`` was made with ``record``."""
    path = Path(ckpt_dir) / SETTINGS_FILE
    if not path.exists():
        raise ResumeMismatch(
            f"{ckpt_dir}: these checkpoints have no {SETTINGS_FILE}, so whether they were made with the same "
            "settings cannot be checked; rerun without --resume to start afresh"
        )
    old = json.loads(path.read_text(encoding="utf8"))
    diffs = []
    for key in sorted(set(old.get("settings", {})) | set(record["settings"])):
        a, b = old.get("settings", {}).get(key, "<unset>"), record["settings"].get(key, "<unset>")
        if a != b:
            diffs.append(f"{key}: {a!r} in the checkpoint, {b!r} now")
    for key, value in record["digests"].items():
        if old.get("digests", {}).get(key) != value:
            diffs.append(f"{key} differ")
    if diffs:
        raise ResumeMismatch(
            f"{ckpt_dir.parent}: the checkpoint to resume was made with different settings ("
            + "; ".join(diffs)
            + "). Rerun without --resume to start this run afresh (its folder is cleared), "
            "or restore the settings it was started with."
        )


def last_checkpoint(run_dir: Path) -> Optional[str]:
    """The newest Trainer checkpoint under ``run_dir/checkpoints``, if any."""
    ckpt_dir = Path(run_dir) / CHECKPOINT_DIR
    return get_last_checkpoint(str(ckpt_dir)) if ckpt_dir.is_dir() else None


def run_mlm(
    run: str,
    model,
    tokenizer,
    train_blocks: PackedBlocks,
    eval_blocks: PackedBlocks,
    cfg: Union[TrainingSettings, Mapping[str, Any]],
    run_dir: Path,
    resume: bool = False,
    callbacks: Sequence[TrainerCallback] = (),
) -> Dict[str, Any]:
    """Train ``model`` for ``cfg.max_steps`` optimizer steps; save it in ``run_dir``.

    ``run_dir/checkpoints`` holds Trainer checkpoints and ``settings.json``;
    ``run_dir`` ends up a Hugging Face model dir (safetensors, tokenizer,
    config, metrics.jsonl, run_info.json). With ``resume`` the last
    checkpoint is continued (a finished run is re-evaluated and saved
    unchanged) after checking that it was made with the same settings, data,
    tokenizer and initial weights (else :class:`ResumeMismatch`); without
    it, or without a checkpoint, old checkpoints and metrics are removed
    first. Returns a summary dict.
    """
    cfg = training_settings(cfg)
    threads = set_threads(cfg.num_threads)
    run_dir = Path(run_dir)
    ckpt_dir = run_dir / CHECKPOINT_DIR
    metrics = run_dir / METRICS_FILE
    eval_ds = PackedBlocks(
        eval_blocks.flat, eval_blocks.offsets[: min(eval_blocks.n_blocks, cfg.max_eval_blocks) + 1]
    )
    record = resume_record(cfg, model, tokenizer, train_blocks, eval_ds)
    last_ckpt = last_checkpoint(run_dir) if resume else None
    if last_ckpt:  # every process checks, so that all of them stop together
        check_resume(ckpt_dir, record)
    state = process_state()
    if state.is_main_process:  # file system changes once, also under DDP
        if not last_ckpt:
            if ckpt_dir.exists():
                shutil.rmtree(ckpt_dir)
            if metrics.exists():
                metrics.unlink()
            ckpt_dir.mkdir(parents=True)
            (ckpt_dir / SETTINGS_FILE).write_text(json.dumps(record, indent=2), encoding="utf8")
        else:
            step = int(Path(last_ckpt).name.split("-")[-1])
            dropped = truncate_metrics(metrics, step)
            logger.info("%s: resuming from %s (%d metric records after it dropped)", run, last_ckpt, dropped)
        (run_dir / RUN_INFO_FILE).unlink(missing_ok=True)  # not complete until this run ends
    state.wait_for_everyone()

    if cfg.masked_only_head:
        model = as_masked_only(model)
    eff_batch = cfg.batch_size * cfg.grad_accum * state.num_processes
    train_ds = train_blocks.repeat_to(cfg.max_steps * eff_batch)
    collator = DataCollatorForSentencePieceWholeWordMask(
        tokenizer=tokenizer, mlm_probability=cfg.mlm_probability, mask_seed=cfg.seed, pad_to_multiple_of=8
    )
    args = training_arguments(cfg, ckpt_dir, eval_on_start=last_ckpt is None)
    if effective_batch(args) != eff_batch:
        raise RuntimeError(f"{run}: the Trainer's effective batch {effective_batch(args)} ({args.world_size} "
                           f"processes) differs from {eff_batch} ({state.num_processes} processes for accelerate)")
    if state.is_main_process:
        logger.info("%s: effective batch %d = %d per device x %d accumulation x %d processes (%s)", run, eff_batch,
                    args.per_device_train_batch_size, args.gradient_accumulation_steps, args.world_size,
                    state.distributed_type)
    logger_cb = MetricsLogger(metrics, run, is_main=args.process_index == 0)
    trainer = PretrainTrainer(
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
    logger_cb.final = True
    final_eval = trainer.evaluate()
    summary = _summary(run, trainer, logger_cb, result, final_eval, wall, threads, train_blocks, eval_ds, cfg, metrics)
    summary["resumed_from_step"] = int(Path(last_ckpt).name.split("-")[-1]) if last_ckpt else None
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
        "world_size": trainer.args.world_size,
        "per_device_batch": trainer.args.per_device_train_batch_size,
        "grad_accum": trainer.args.gradient_accumulation_steps,
        "effective_batch": effective_batch(trainer.args),
        "mixed_precision": trainer.accelerator.mixed_precision,
        # this process's peak (rank 0's in run_info.json); None on CPU
        "peak_gpu_memory_gib": torch.cuda.max_memory_allocated() / 2**30 if torch.cuda.is_available() else None,
        "settings": cfg.model_dump(),
    }


def masked_lm_loss(model, blocks, tokenizer, settings: Union[TrainingSettings, Mapping[str, Any]],
                   max_blocks: int) -> float:
    """Masked-LM loss of an in-memory ``model`` on ``blocks`` in fp32, with fixed (seeded) masks."""
    settings = training_settings(settings)
    collate = DataCollatorForSentencePieceWholeWordMask(
        tokenizer=tokenizer, mlm_probability=settings.mlm_probability, mask_seed=settings.seed
    )
    device = next(model.parameters()).device
    training = model.training
    model.eval()
    n, bs = min(blocks.n_blocks, max_blocks), settings.batch_size
    total, count = 0.0, 0
    with torch.no_grad():
        for start in range(0, n, bs):
            batch = collate([blocks[i] for i in range(start, min(start + bs, n))])
            k = int((batch["labels"] != -100).sum())
            if k:
                out = model(**{key: v.to(device) for key, v in batch.items()})
                total += float(out.loss) * k
                count += k
    model.train(training)
    return total / max(count, 1)
