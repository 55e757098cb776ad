"""Tokens/s of this stage's loop against a plain Trainer MLM loop, same model and data.

``ours``: word-boundary packed blocks, whole-word-mask collator, masked-only
LM head. ``plain``: one document per sequence (truncated, dynamically
padded), ``DataCollatorForLanguageModeling``, full-vocabulary head.
``packed_full_head`` isolates the head's share. Tokens/s counts non-padding
tokens over ``trainer.train()`` wall time. Writes only its own output folder
(``benchmark.json``, ``README.md``); a ``--model`` folder is only read.
"""
from __future__ import annotations

import copy
import json
import logging
import shutil
import time
from pathlib import Path
from typing import Any, Dict, NamedTuple, Optional

import torch
from datasets import Dataset
from transformers import AutoTokenizer, DataCollatorForLanguageModeling, Trainer

from .blocks import iter_texts, load_corpus, tokenize_and_pack
from .card import benchmark_readme, hardware, library_versions, precision_benchmark_readme
from .collator import DataCollatorForSentencePieceWholeWordMask
from .config import PretrainProfile, load_profile
from .mlm import TrainingSettings, masked_lm_loss, set_threads, training_arguments
from .modeling import as_masked_only, init_model
from .tokenizer import train_tokenizer

logger = logging.getLogger(__name__)


class CountingCollator:
    """Wrap a collator and count the non-padding tokens it emits."""

    def __init__(self, inner):
        self.inner = inner
        self.tokens = 0

    def __call__(self, examples):
        batch = self.inner(examples)
        self.tokens += int(batch["attention_mask"].sum())
        return batch


def _timed_train(model, dataset, collator, settings: TrainingSettings, steps: int, workdir: Path,
                 precision: str = "fp32") -> Dict[str, Any]:
    """Train ``steps`` steps; tokens/s over ``trainer.train()``. ``precision``: fp32 | bf16 | fp16 (autocast).

    The stage's own optimizer and schedule (:func:`~.mlm.training_arguments` without evaluation,
    checkpoints or logging), one batch per optimizer step.
    """
    counting = CountingCollator(collator)
    timed = settings.model_copy(update={"max_steps": steps, "grad_accum": 1, "precision": precision})
    args = training_arguments(timed, workdir, eval_on_start=False, checkpoints=False)
    trainer = Trainer(model=model, args=args, train_dataset=dataset, data_collator=counting)
    expected = {"fp32": "no"}.get(precision, precision)
    if trainer.accelerator.mixed_precision != expected:
        raise RuntimeError(f"benchmark: asked for {precision}, the Trainer runs {trainer.accelerator.mixed_precision}")
    start = time.perf_counter()
    trainer.train()
    wall = time.perf_counter() - start
    return {"wall_s": wall, "tokens": counting.tokens, "tokens_per_s": counting.tokens / wall,
            "mixed_precision": trainer.accelerator.mixed_precision,
            "train_loss": trainer.state.log_history[-1].get("train_loss")}


def _about(profile: PretrainProfile, config: Path, corpus: Path, model_dir: Optional[Path]) -> Dict[str, Any]:
    """What a benchmark ran on: model, hardware, versions, config and corpus."""
    return {
        "model": {k: getattr(profile.model, k) for k in ("layers", "hidden", "heads", "intermediate")}
        if model_dir is None else str(model_dir),
        "hardware": hardware(),
        "versions": library_versions(),
        "config": str(config),
        "corpus": str(corpus),
    }


def _write(output: Path, result: Dict[str, Any], readme: str) -> Dict[str, Any]:
    """``benchmark.json`` and ``README.md``; the work folder removed."""
    shutil.rmtree(output / "work", ignore_errors=True)
    (output / "benchmark.json").write_text(json.dumps(result, indent=2), encoding="utf8")
    (output / "README.md").write_text(readme + "\n", encoding="utf8")
    return result


class BenchmarkInputs(NamedTuple):
    """What both benchmarks start from."""

    profile: PretrainProfile
    settings: TrainingSettings
    threads: int
    corpus: Any  # the DatasetDict (train, validation)
    tokenizer: Any
    model: Any  # the initial model, copied for each loop
    steps: int  # per loop and round: the caller's, else the profile's [benchmark] steps
    rounds: int  # the caller's, else the profile's [benchmark] rounds


def _prepare(config: Path, corpus: Path, output: Path, model_dir: Optional[Path], steps: Optional[int],
             rounds: Optional[int]) -> BenchmarkInputs:
    """Profile, training settings, threads, corpus, tokenizer, initial model, steps and rounds of a
    benchmark (``steps``/``rounds`` left ``None``: the profile's ``[benchmark]`` values).

    ``model_dir``: that model's tokenizer and weights (read only); without it, a tokenizer
    is trained in ``output/tokenizer`` and the profile's ``[model]`` starts at random.
    """
    profile = load_profile(config)
    settings = profile.training
    threads = set_threads(settings.num_threads)
    output.mkdir(parents=True, exist_ok=True)
    dataset = load_corpus(corpus)
    if model_dir is not None:
        tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    else:
        tokenizer = train_tokenizer(iter_texts(dataset["train"], min(20_000, profile.tokenizer.max_texts)),
                                    output / "tokenizer", profile.tokenizer.vocab_size, 0)
    base, tokenizer = init_model(profile.model, tokenizer, base=str(model_dir) if model_dir else None,
                                 seed=settings.seed)
    return BenchmarkInputs(profile, settings, threads, dataset, tokenizer, base,
                           profile.benchmark.steps if steps is None else steps,
                           profile.benchmark.rounds if rounds is None else rounds)


def run_benchmark(
    config: Path,
    corpus: Path,
    output: Path,
    steps: Optional[int] = None,
    model_dir: Optional[Path] = None,
    rounds: Optional[int] = None,
) -> Dict[str, Any]:
    """Run the three loops side by side; write ``output/benchmark.json`` and ``output/README.md``.
    ``steps`` and ``rounds`` default to the profile's ``[benchmark]`` block.

    ``model_dir``: benchmark this model's tokenizer and weights (read only);
    without it, a tokenizer is trained in ``output/tokenizer`` and the
    profile's ``[model]`` is initialised at random.
    """
    profile, settings, threads, dataset, tokenizer, base, steps, rounds = _prepare(
        config, corpus, Path(output), model_dir, steps, rounds)
    output = Path(output)
    seq_len, batch = settings.seq_len, settings.batch_size
    n = steps * batch
    packed = tokenize_and_pack(dataset["train"], tokenizer, seq_len, n, desc="benchmark: packing")
    packed = packed.repeat_to(n)
    docs = dataset["train"].select(range(min(len(dataset["train"]), 4 * n)), keep_in_memory=True)
    enc = tokenizer([t for t in docs["text"] if t and t.strip()], truncation=True, max_length=seq_len)
    plain_ids = enc["input_ids"]
    plain_ds = Dataset.from_dict({"input_ids": [plain_ids[i % len(plain_ids)] for i in range(n)]})

    wwm = DataCollatorForSentencePieceWholeWordMask(
        tokenizer=tokenizer, mlm_probability=settings.mlm_probability, mask_seed=settings.seed,
        pad_to_multiple_of=8,
    )
    plain_collator = DataCollatorForLanguageModeling(
        tokenizer=tokenizer, mlm_probability=settings.mlm_probability, pad_to_multiple_of=8
    )
    loops = {
        "plain": (lambda: copy.deepcopy(base), plain_ds, plain_collator),
        "packed_full_head": (lambda: copy.deepcopy(base), packed, wwm),
        "ours": (lambda: as_masked_only(copy.deepcopy(base)), packed, wwm),
    }
    # warm-up (thread pools, allocator), then alternate the loops for `rounds`
    # rounds and keep each loop's median, so background load hits all alike
    logger.info(f"[benchmark] warm-up, then {rounds} round(s) of {steps} steps for each of {', '.join(loops)}")
    for make, data, coll in loops.values():
        _timed_train(make(), data, coll, settings, min(3, steps), output / "work")
    trials: Dict[str, list] = {name: [] for name in loops}
    for r in range(rounds):
        for name, (make, data, coll) in loops.items():
            trials[name].append(_timed_train(make(), data, coll, settings, steps, output / "work"))
            logger.info(f"[benchmark] round {r + 1}/{rounds} {name}: {trials[name][-1]['tokens_per_s']:,.0f} tokens/s")
    runs = {name: sorted(t, key=lambda r: r["tokens_per_s"])[len(t) // 2] for name, t in trials.items()}
    result = {
        "runs": runs,
        "ratio": runs["ours"]["tokens_per_s"] / runs["plain"]["tokens_per_s"],
        "ratio_head_only": runs["ours"]["tokens_per_s"] / runs["packed_full_head"]["tokens_per_s"],
        "steps": steps,
        "rounds": rounds,
        "all_tokens_per_s": {name: [r["tokens_per_s"] for r in t] for name, t in trials.items()},
        "batch_size": batch,
        "seq_len": seq_len,
        "threads": threads,
        "vocab_size": base.config.vocab_size,
        **_about(profile, config, corpus, model_dir),
    }
    return _write(output, result, benchmark_readme(result))


def run_precision_benchmark(
    config: Path,
    corpus: Path,
    output: Path,
    steps: Optional[int] = None,
    model_dir: Optional[Path] = None,
    rounds: Optional[int] = None,
    precisions: tuple = ("fp32", "bf16"),
) -> Dict[str, Any]:
    """bf16 (autocast) vs fp32 of this stage's loop: tokens/s and validation loss after the same steps.

    Both start from the same weights and see the same batches and masks; the
    loop is ``ours`` (packed blocks, whole word masking, masked-only head)
    with the profile's batch, seq_len and threads. Rounds alternate the
    precisions after a warm-up; the median round's tokens/s is kept.
    Validation loss (fp32 evaluation, fixed masks) is measured after every
    round's ``steps`` steps (the same in each round: same seed). Writes
    ``output/benchmark.json`` and ``output/README.md``.
    """
    profile, settings, threads, dataset, tokenizer, base, steps, rounds = _prepare(
        config, corpus, Path(output), model_dir, steps, rounds)
    output = Path(output)
    seq_len, batch = settings.seq_len, settings.batch_size
    n = steps * batch
    packed = tokenize_and_pack(dataset["train"], tokenizer, seq_len, n, desc="benchmark: packing").repeat_to(n)
    max_eval = settings.max_eval_blocks
    valid = tokenize_and_pack(dataset["validation"], tokenizer, seq_len, max_eval, desc="benchmark: validation")
    wwm = DataCollatorForSentencePieceWholeWordMask(
        tokenizer=tokenizer, mlm_probability=settings.mlm_probability, mask_seed=settings.seed,
        pad_to_multiple_of=8,
    )
    loss_start = masked_lm_loss(as_masked_only(copy.deepcopy(base)), valid, tokenizer, settings, max_eval)
    logger.info(f"[benchmark] {' vs '.join(precisions)}: warm-up, then {rounds} round(s) of {steps} steps each "
                f"(batch {batch} x {seq_len}, {threads} threads)")
    for precision in precisions:
        _timed_train(as_masked_only(copy.deepcopy(base)), packed, wwm, settings, min(3, steps), output / "work",
                     precision)
    trials: Dict[str, list] = {p: [] for p in precisions}
    for r in range(rounds):
        for precision in precisions:
            model = as_masked_only(copy.deepcopy(base))
            run = _timed_train(model, packed, wwm, settings, steps, output / "work", precision)
            run["eval_loss"] = masked_lm_loss(model, valid, tokenizer, settings, max_eval)
            trials[precision].append(run)
            logger.info(f"[benchmark] round {r + 1}/{rounds} {precision}: {run['tokens_per_s']:,.0f} tokens/s, "
                        f"validation loss {run['eval_loss']:.4f}")
    runs = {p: sorted(t, key=lambda x: x["tokens_per_s"])[len(t) // 2] for p, t in trials.items()}
    ref, other = precisions[0], precisions[-1]
    result = {
        "mode": "precision",
        "runs": runs,
        "ratio": runs[other]["tokens_per_s"] / runs[ref]["tokens_per_s"],
        "ratio_of": f"{other} / {ref} tokens/s",
        "eval_loss_start": loss_start,
        "eval_loss_diff": runs[other]["eval_loss"] - runs[ref]["eval_loss"],
        "eval_blocks": min(valid.n_blocks, max_eval),
        "steps": steps,
        "rounds": rounds,
        "all_tokens_per_s": {p: [x["tokens_per_s"] for x in t] for p, t in trials.items()},
        "batch_size": batch,
        "seq_len": seq_len,
        "threads": threads,
        "vocab_size": base.config.vocab_size,
        # bf16 is fast on CPUs with AVX512-BF16 / AMX only ("AVX512" or less: emulated, slower)
        "cpu_capability": torch.backends.cpu.get_cpu_capability() if not torch.cuda.is_available() else None,
        **_about(profile, config, corpus, model_dir),
    }
    return _write(output, result, precision_benchmark_readme(result))
