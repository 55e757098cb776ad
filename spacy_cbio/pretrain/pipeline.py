"""The pretraining stage: general base (or a given one) -> bio and control runs.

Without a reachable base: (1) train the tokenizer on general French,
(2) pretrain ``general`` from scratch, (3) continue it on the biomedical
corpus (``bio``, the CamemBERT-bio analogue), (4) continue it on general
French for as many steps (``control``) so the gain can be attributed to the
domain. With a base (hub name or local dir), (1)-(2) are skipped and the
base is saved as ``general``. ``<output>/model`` is a copy of ``bio``
(without checkpoints).
"""
from __future__ import annotations

import hashlib
import json
import logging
import math
import shutil
import time
from pathlib import Path
from typing import Any, Callable, Dict, Optional

import torch
from accelerate import PartialState
from transformers import AutoModelForMaskedLM, AutoTokenizer

from .card import hardware, library_versions, model_card
from .collator import DataCollatorForSentencePieceWholeWordMask
from .config import load_profile, profile_text
from .data import PackedBlocks, corpus_stats_md, iter_texts, load_corpus, tokenize_and_pack
from .modeling import BaseUnreachable, as_masked_only, init_model, resolve_base
from .tokenizer import train_tokenizer
from .train import RUN_INFO_FILE, run_mlm, training_settings

logger = logging.getLogger(__name__)

TITLES = {
    "general": "General-French base (`general` run)",
    "bio": "CamemBERT-bio analogue (`bio` run)",
    "control": "General-French control (`control` run)",
}

DESCRIPTIONS = {
    "general": "General-French CamemBERT-style masked LM, pretrained from scratch here "
    "(stands in for camembert-base when no pretrained French model is reachable).",
    "general_base": "The base checkpoint the biomedical runs continue from (not trained here).",
    "bio": "CamemBERT-bio analogue: the general model continued with whole-word-masking MLM "
    "on French biomedical text.",
    "control": "Control: the general model continued on general French for as many steps as `bio`, "
    "so that differences with `bio` come from the domain, not from extra training.",
}


FINGERPRINT_FILE = "run_fingerprint.txt"


def _fingerprint(*parts: Any) -> str:
    return hashlib.sha256("\n".join(map(str, parts)).encode("utf8")).hexdigest()[:16]


def _reusable(run_dir: Path, fingerprint: str) -> bool:
    """True if ``run_dir`` was started with the same profile, corpora and base."""
    path = run_dir / FINGERPRINT_FILE
    return path.exists() and path.read_text(encoding="utf8").strip() == fingerprint


def _completed(run_dir: Path, steps: int) -> Optional[Dict[str, Any]]:
    info = run_dir / RUN_INFO_FILE
    if info.exists():
        data = json.loads(info.read_text(encoding="utf8"))
        if data.get("completed") and data.get("steps") == steps:
            return data
    return None


def evaluate_loss(model_dir: Path, blocks: PackedBlocks, settings: Dict[str, Any], max_blocks: int) -> float:
    """Masked-LM loss of ``model_dir`` on ``blocks`` with fixed (seeded) masks."""
    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    model = as_masked_only(AutoModelForMaskedLM.from_pretrained(str(model_dir))).eval()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    model.to(device)
    collate = DataCollatorForSentencePieceWholeWordMask(
        tokenizer=tokenizer, mlm_probability=float(settings["mlm_probability"]), mask_seed=int(settings["seed"])
    )
    n = min(blocks.n_blocks, max_blocks)
    bs = int(settings["batch_size"])
    total, count = 0.0, 0
    with torch.no_grad():
        for start in range(0, n, bs):
            batch = collate([blocks[i] for i in range(start, min(start + bs, n))])
            k = int((batch["labels"] != -100).sum())
            if k:
                out = model(**{key: v.to(device) for key, v in batch.items()})
                total += out.loss.item() * k
                count += k
    return total / max(count, 1)


def comparison_table(results: Dict[str, Dict[str, float]]) -> str:
    """Markdown: perplexity of each model on each validation set."""
    sets = sorted({s for r in results.values() for s in r})
    rows = ["| model | " + " | ".join(f"{s} validation perplexity" for s in sets) + " |"]
    rows.append("|---" * (len(sets) + 1) + "|")
    for run, r in results.items():
        rows.append(f"| {run} | " + " | ".join(f"{math.exp(min(r[s], 50.0)):.2f}" for s in sets) + " |")
    return "\n".join(rows)


def run_stage(
    config: Path,
    bio_corpus: Path,
    output: Path,
    general_corpus: Optional[Path] = None,
    resume: bool = False,
    base: Optional[str] = None,
    overrides: Optional[Dict[str, Any]] = None,
    echo: Callable[[str], None] = print,
) -> Dict[str, Any]:
    """Run the whole pretraining stage; returns the stage summary (also in ``pretrain_info.json``)."""
    state = PartialState()
    t_stage = time.time()
    profile = load_profile(config, overrides)
    settings = training_settings(profile["training"])
    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    common = {"hardware": hardware(), "versions": library_versions(), "profile_text": profile_text(profile)}

    base_name = base if base is not None else profile["base"]["model"]
    try:
        base_name = resolve_base(base_name)
    except BaseUnreachable as err:
        echo(f"WARNING: {err}. Falling back to from-scratch pretraining: tokenizer and general-French "
             f"base are trained here from --general-corpus.")
        base_name = None

    bio = load_corpus(bio_corpus)
    general = load_corpus(general_corpus) if general_corpus else None
    if base_name is None and general is None:
        raise ValueError("No base model is reachable and no general corpus was given: "
                         "pass --general-corpus to pretrain a general-French base from scratch.")
    seq_len = int(settings["seq_len"])
    eff_batch = int(settings["batch_size"]) * int(settings["grad_accum"]) * state.num_processes
    max_eval = int(settings["max_eval_blocks"])
    summaries: Dict[str, Dict[str, Any]] = {}
    general_dir = output / "general"

    # any change of profile, corpora or base invalidates earlier runs (no stale --resume)
    same_result = {**profile, "training": {k: v for k, v in settings.items() if k != "num_threads"}}
    fingerprint = _fingerprint(profile_text(same_result), Path(bio_corpus).resolve(),
                               Path(general_corpus).resolve() if general_corpus else None, base_name)

    def do_run(run: str, corpus, steps: int, init: Optional[str], tokenizer, shuffle_seed: int) -> Dict[str, Any]:
        run_dir = output / run
        run_resume = resume and _reusable(run_dir, fingerprint)
        if resume and not run_resume and run_dir.exists():
            echo(f"[{run}] profile, corpora or base changed since the last run: starting it afresh")
        if run_resume and (done := _completed(run_dir, steps)):
            echo(f"[{run}] already complete ({steps} steps), skipped")
            return done
        if state.is_main_process:
            run_dir.mkdir(parents=True, exist_ok=True)
            (run_dir / RUN_INFO_FILE).unlink(missing_ok=True)  # not complete until this run ends
            (run_dir / FINGERPRINT_FILE).write_text(fingerprint + "\n", encoding="utf8")
        state.wait_for_everyone()
        echo(f"[{run}] {steps} steps from {init or 'scratch'}")
        model, tokenizer = init_model(profile["model"], tokenizer, base=init, seed=int(settings["seed"]))
        train = tokenize_and_pack(corpus["train"], tokenizer, seq_len, steps * eff_batch, seed=shuffle_seed,
                                  desc=f"{run}: packing train")
        valid = tokenize_and_pack(corpus["validation"], tokenizer, seq_len, max_eval, desc=f"{run}: packing validation")
        summary = run_mlm(run, model, tokenizer, train, valid, {**settings, "max_steps": steps}, run_dir,
                          resume=run_resume)
        summary.update(common, init=init or "random initialisation")
        state.wait_for_everyone()
        return summary

    seed = int(settings["seed"])
    if base_name is None:
        tok_dir = output / "tokenizer"
        if state.is_main_process and not (resume and _reusable(tok_dir, fingerprint)):
            echo("[tokenizer] training SentencePiece unigram on the general corpus")
            train_tokenizer(iter_texts(general["train"], int(profile["tokenizer"]["max_texts"])), tok_dir,
                            int(profile["tokenizer"]["vocab_size"]), int(profile["tokenizer"]["seed"]))
            (tok_dir / FINGERPRINT_FILE).write_text(fingerprint + "\n", encoding="utf8")
        state.wait_for_everyone()
        tokenizer = AutoTokenizer.from_pretrained(str(tok_dir))
        summaries["general"] = do_run("general", general, int(profile["base"]["general_steps"]), None, tokenizer, seed)
        general_desc = DESCRIPTIONS["general"]
    else:
        echo(f"[general] using base {base_name}")
        if state.is_main_process and not (resume and _reusable(general_dir, fingerprint)):
            model, tokenizer = init_model(profile["model"], base=base_name)
            model.save_pretrained(str(general_dir), safe_serialization=True)
            tokenizer.save_pretrained(str(general_dir))
            (general_dir / FINGERPRINT_FILE).write_text(fingerprint + "\n", encoding="utf8")
        state.wait_for_everyone()
        summaries["general"] = {"run": "general", "init": base_name, **common, "settings": settings}
        general_desc = DESCRIPTIONS["general_base"] + f" Source: `{base_name}`."

    steps = int(settings["max_steps"])
    summaries["bio"] = do_run("bio", bio, steps, str(general_dir), None, seed)
    if general is not None:
        # a different shuffle than the general run: mostly text that run has not seen
        summaries["control"] = do_run("control", general, steps, str(general_dir), None, seed + 1)

    # cross-evaluation on both validation sets, same masks for every model
    comparison: Dict[str, Dict[str, float]] = {}
    if state.is_main_process:
        tokenizer = AutoTokenizer.from_pretrained(str(general_dir))
        sets = {"biomedical": bio}
        if general is not None:
            sets["general"] = general
        packed = {name: tokenize_and_pack(c["validation"], tokenizer, seq_len, max_eval, desc=f"eval {name}")
                  for name, c in sets.items()}
        for run in summaries:
            comparison[run] = {name: evaluate_loss(output / run, b, settings, max_eval) for name, b in packed.items()}
        table = comparison_table(comparison)
        echo(table)
        corpus_md = {"general": corpus_stats_md(general_corpus) if general_corpus else None,
                     "bio": corpus_stats_md(bio_corpus), "control": corpus_stats_md(general_corpus) if general_corpus else None}
        for run, summary in summaries.items():
            desc = general_desc if run == "general" else DESCRIPTIONS[run]
            summary["comparison_loss"] = comparison[run]
            summary["title"] = TITLES[run]
            (output / run / "README.md").write_text(model_card(summary, corpus_md.get(run), desc, table), encoding="utf8")
            (output / run / RUN_INFO_FILE).write_text(json.dumps(summary, indent=2, default=str), encoding="utf8")
        model_dir = output / "model"
        if model_dir.exists():
            shutil.rmtree(model_dir)
        shutil.copytree(output / "bio", model_dir, ignore=shutil.ignore_patterns("checkpoints"))
        info = {"wall_time_s": time.time() - t_stage, "base": base_name, "runs": summaries,
                "comparison_loss": comparison, **common}
        (output / "pretrain_info.json").write_text(json.dumps(info, indent=2, default=str), encoding="utf8")
        echo(f"Pretraining stage done in {info['wall_time_s']:.0f} s; product: {model_dir}")
        return info
    return {"runs": summaries}
