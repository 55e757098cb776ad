"""The pretraining stage, one step per function (one CLI command each).

Without a reachable base: :func:`tokenizer_step` trains a CamemBERT-style
SentencePiece tokenizer on general French; :func:`run_step` ``general``
pretrains a general-French base from scratch; ``bio`` continues it on the
biomedical corpus (the CamemBERT-bio analogue); ``control`` continues it on
general French for as many steps, so that a gain can be attributed to the
domain rather than to extra steps. With a reachable base (hub name or local
dir), :func:`save_base_step` saves it as ``general`` instead (no tokenizer
training, no from-scratch run). :func:`report_step` cross-evaluates the runs
on both validation sets and assembles ``model/`` (``bio`` without
checkpoints). :func:`run_all` (the ``pretrain`` command) chains the same steps in one
process, for use outside the spaCy project.

Each step writes only its own folder; what reruns is decided by the caller
(weasel's lock in the spaCy project). Under ``accelerate launch`` every
process trains, only the main process writes. Progress goes to this module's logger.
"""
from __future__ import annotations

import json
import logging
import shutil
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Union

import torch
from transformers import AutoModelForMaskedLM, AutoTokenizer

from .blocks import PackedBlocks, corpus_stats_md, iter_texts, load_corpus, tokenize_and_pack
from ..reporting import markdown_table
from .card import hardware, library_versions, model_card, perplexity
from .config import PretrainProfile, profile_text
from .mlm import (
    CHECKPOINT_DIR, METRICS_FILE, RUN_INFO_FILE, TrainingSettings, last_checkpoint, masked_lm_loss, process_state,
    run_mlm, set_threads,
)
from .modeling import BaseUnreachable, as_masked_only, init_model, resolve_base
from .tokenizer import SPM_FILE, train_tokenizer

logger = logging.getLogger(__name__)
PathLike = Union[str, Path]

RUNS = ("general", "bio", "control")
TOKENIZER_INFO_FILE = "tokenizer_info.json"
COMPARISON_FILE = "comparison.json"

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

MODEL_DESCRIPTION = DESCRIPTIONS["bio"] + (" This folder is the `bio` run without its checkpoints, assembled by "
                                          "`pretrain-report` with the comparison of the runs.")

# files that mark a folder as written by this stage (only such folders are cleared)
_OWN_FILES = {
    RUN_INFO_FILE, METRICS_FILE, CHECKPOINT_DIR, "config.json", "README.md", "model.safetensors",
    TOKENIZER_INFO_FILE, SPM_FILE, "tokenizer.json", COMPARISON_FILE,
}


# ---------------------------------------------------------------- helpers


def run_steps(profile: PretrainProfile, run: str) -> int:
    """Optimizer steps of ``run``: ``[base] general_steps`` for general, ``[training] max_steps`` otherwise."""
    _check_run(run)
    return profile.base.general_steps if run == "general" else profile.training.max_steps


def shuffle_seed(profile: PretrainProfile, run: str) -> int:
    """Seed of the corpus shuffle (data order) of ``run``.

    ``control`` reads the general corpus in another order than ``general``
    (``seed + 1``), so that it mostly sees text that run has not seen.
    """
    _check_run(run)
    return profile.training.seed + (1 if run == "control" else 0)


def _check_run(run: str) -> None:
    if run not in RUNS:
        raise ValueError(f"unknown run {run!r}: expected one of {', '.join(RUNS)}")


def resolve_base_or_scratch(name: Optional[str]) -> Optional[str]:
    """``name`` if that base can be loaded; ``None`` (from scratch) when empty or unreachable (with a warning)."""
    try:
        return resolve_base(name)
    except BaseUnreachable as err:
        logger.warning(f"{err}. Falling back to from-scratch pretraining: the tokenizer and the general-French "
                       f"base are trained here on the general corpus.")
        return None


def clear_dir(path: PathLike) -> Path:
    """Empty ``path`` (create it), refusing folders this stage did not write."""
    path = Path(path)
    if path.is_file():
        raise ValueError(f"{path}: is a file, expected an output folder")
    if path.exists():
        names = {p.name for p in path.iterdir()}
        if names and not names & _OWN_FILES:
            raise ValueError(f"{path}: not empty and not written by the pretraining stage; refusing to delete it "
                             "(choose another output folder)")
        shutil.rmtree(path)
    path.mkdir(parents=True)
    return path


def environment() -> Dict[str, Any]:
    """The hardware and library versions every run record carries."""
    return {"hardware": hardware(), "versions": library_versions()}


def _write_run(run_dir: Path, summary: Dict[str, Any], corpus: Optional[PathLike], description: str) -> None:
    corpus_md = corpus_stats_md(corpus) if corpus else None
    (run_dir / "README.md").write_text(model_card(summary, corpus_md, description) + "\n", encoding="utf8")
    (run_dir / RUN_INFO_FILE).write_text(json.dumps(summary, indent=2, default=str), encoding="utf8")


def read_run_info(run_dir: PathLike) -> Dict[str, Any]:
    """``run_info.json`` of a finished run; a clear error when the run is missing or unfinished."""
    path = Path(run_dir) / RUN_INFO_FILE
    if not path.exists():
        raise FileNotFoundError(f"{run_dir}: no finished run here ({RUN_INFO_FILE} missing): "
                                "run `pretrain-run` for it first")
    info = json.loads(path.read_text(encoding="utf8"))
    if not info.get("completed"):
        raise ValueError(f"{run_dir}: the run did not finish; rerun it (with --resume to continue it)")
    return info


# ---------------------------------------------------------------- steps


def tokenizer_step(
    profile: PretrainProfile,
    general_corpus: PathLike,
    output_dir: PathLike,
    base: Optional[str] = None,
) -> Path:
    """Write the tokenizer folder: trained on ``general_corpus``, or ``base``'s own when a base is given.

    ``base`` is an already resolved base (see :func:`resolve_base_or_scratch`);
    continual pretraining keeps the base's tokenizer, so none is trained then.
    """
    state = process_state()
    output_dir = Path(output_dir)
    tok = profile.tokenizer
    t0 = time.time()
    if state.is_main_process:
        clear_dir(output_dir)
        if base:
            logger.info(f"[tokenizer] base {base} is reachable: continual pretraining keeps its tokenizer "
                        f"(saved to {output_dir}, nothing trained)")
            AutoTokenizer.from_pretrained(base).save_pretrained(str(output_dir))
            info: Dict[str, Any] = {"source": "base", "base": base}
        else:
            corpus = load_corpus(general_corpus)
            n = min(tok.max_texts, len(corpus["train"]))
            logger.info(f"[tokenizer] training a SentencePiece unigram tokenizer ({tok.vocab_size} pieces) "
                        f"on {n:,} documents of {general_corpus}")
            trained = train_tokenizer(iter_texts(corpus["train"], tok.max_texts), output_dir,
                                      tok.vocab_size, tok.seed)
            info = {"source": "trained", "corpus": str(general_corpus), "documents": n, **tok.model_dump(),
                    "vocab": len(trained.get_vocab())}
        info.update(wall_time_s=time.time() - t0, versions=library_versions())
        (output_dir / TOKENIZER_INFO_FILE).write_text(json.dumps(info, indent=2), encoding="utf8")
        logger.info(f"[tokenizer] done in {time.time() - t0:.0f} s: {output_dir}")
    state.wait_for_everyone()
    return output_dir


def save_base_step(
    profile: PretrainProfile, base: str, output_dir: PathLike
) -> Dict[str, Any]:
    """Save the reachable ``base`` as the ``general`` run (model, its tokenizer, card, run_info.json)."""
    state = process_state()
    output_dir = Path(output_dir)
    summary: Dict[str, Any] = {
        "run": "general", "completed": True, "init": base, "title": TITLES["general"],
        "settings": profile.training.model_dump(), "profile_text": profile_text(profile), **environment(),
    }
    if state.is_main_process:
        logger.info(f"[general] using base {base} (saved to {output_dir}, not trained)")
        clear_dir(output_dir)
        model, tokenizer = init_model(profile.model, base=base)
        model.save_pretrained(str(output_dir), safe_serialization=True)
        tokenizer.save_pretrained(str(output_dir))
        _write_run(output_dir, summary, None, DESCRIPTIONS["general_base"] + f" Source: `{base}`.")
    state.wait_for_everyone()
    return summary


def run_step(
    run: str,
    profile: PretrainProfile,
    corpus_dir: PathLike,
    output_dir: PathLike,
    init: Optional[str] = None,
    tokenizer_dir: Optional[PathLike] = None,
    resume: bool = False,
) -> Dict[str, Any]:
    """Train ``run`` (general | bio | control) on ``corpus_dir`` into ``output_dir``; returns its run_info.

    ``init``: the model to continue (hub name or local dir; for bio and
    control the general run's folder); without it (general from scratch), a
    new model of the profile's ``[model]`` shape for ``tokenizer_dir``.
    Steps and data order come from the run (:func:`run_steps`,
    :func:`shuffle_seed`). Without ``resume`` the folder is cleared first;
    with it, the run continues from its last checkpoint, which must have
    been made with the same settings (else :class:`~.mlm.ResumeMismatch`).
    """
    _check_run(run)
    state = process_state()
    settings = profile.training
    output_dir = Path(output_dir)
    if init:
        try:
            resolve_base(init)
        except BaseUnreachable as err:
            hint = " (run `pretrain-run general` first)" if run != "general" else ""
            raise BaseUnreachable(f"--init: {err}{hint}") from None
        if tokenizer_dir:
            raise ValueError(f"[{run}] --tokenizer is only for a run from scratch: a run continued from --init "
                             "keeps the tokenizer of its init model")
    elif not tokenizer_dir:
        raise ValueError(f"[{run}] needs --init (the model to continue) or --tokenizer (to start from scratch)")
    corpus = load_corpus(corpus_dir)
    steps = run_steps(profile, run)
    seed = settings.seed
    t0 = time.time()

    ckpt = last_checkpoint(output_dir) if resume else None
    if resume and not ckpt:
        logger.info(f"[{run}] --resume: no checkpoint in {output_dir}, starting afresh")
    if state.is_main_process and not ckpt:
        clear_dir(output_dir)
    state.wait_for_everyone()

    logger.info(f"[{run}] {steps} steps on {corpus_dir} from {init or 'scratch'}"
                + (f", resuming from {Path(ckpt).name}" if ckpt else ""))
    tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_dir)) if not init else None
    model, tokenizer = init_model(profile.model, tokenizer, base=init, seed=seed)
    eff_batch = settings.batch_size * settings.grad_accum * state.num_processes
    seq_len, max_eval = settings.seq_len, settings.max_eval_blocks
    train = tokenize_and_pack(corpus["train"], tokenizer, seq_len, steps * eff_batch, seed=shuffle_seed(profile, run),
                              desc=f"{run}: packing train")
    valid = tokenize_and_pack(corpus["validation"], tokenizer, seq_len, max_eval, desc=f"{run}: packing validation")
    summary = run_mlm(run, model, tokenizer, train, valid, settings.model_copy(update={"max_steps": steps}), output_dir, resume=resume)
    summary.update(
        init=init or "random initialisation", title=TITLES[run], corpus=str(corpus_dir),
        shuffle_seed=shuffle_seed(profile, run), profile_text=profile_text(profile), **environment(),
    )
    if state.is_main_process:
        _write_run(output_dir, summary, corpus_dir, DESCRIPTIONS[run])
        logger.info(f"[{run}] done in {time.time() - t0:.0f} s: validation perplexity "
                    f"{summary['eval_perplexity_final']:.2f}, {output_dir}")
    state.wait_for_everyone()
    return summary


def evaluate_loss(model_dir: PathLike, blocks: PackedBlocks, settings: TrainingSettings, max_blocks: int) -> float:
    """Masked-LM loss of ``model_dir`` on ``blocks`` with fixed (seeded) masks."""
    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    model = as_masked_only(AutoModelForMaskedLM.from_pretrained(str(model_dir))).eval()
    model.to("cuda" if torch.cuda.is_available() else "cpu")
    return masked_lm_loss(model, blocks, tokenizer, settings, max_blocks)


def comparison_table(results: Dict[str, Dict[str, float]]) -> str:
    """Markdown: perplexity of each model (row) on each validation set (column), from losses."""
    sets = sorted({s for r in results.values() for s in r})
    return markdown_table([[run, *(f"{perplexity(r[s]):.2f}" for s in sets)] for run, r in results.items()],
                          ["model", *(f"{s} validation perplexity" for s in sets)])


def report_step(
    profile: PretrainProfile,
    bio_corpus: PathLike,
    pretrain_dir: PathLike,
    general_corpus: Optional[PathLike] = None,
    *,
    control: bool = True,
    report_name: str = "report",
    assemble_model: bool = True,
) -> Dict[str, Any]:
    """Cross-evaluate the runs of ``pretrain_dir`` and assemble ``pretrain_dir/model``.

    Reads ``general/``, ``bio/`` and (with ``general_corpus`` and ``control``) ``control/``;
    evaluates each on the biomedical (and general) validation set with the
    same fixed masks; writes ``<report_name>/`` (comparison.json, README.md) and,
    with ``assemble_model``, ``model/`` (``bio`` without checkpoints, with a card that
    includes the comparison). Returns the comparison record.
    """
    state = process_state()
    settings = profile.training
    pretrain_dir = Path(pretrain_dir)
    runs: List[str] = ["general", "bio"] + (["control"] if general_corpus and control else [])
    infos = {run: read_run_info(pretrain_dir / run) for run in runs}
    sets = {"biomedical": bio_corpus, **({"general": general_corpus} if general_corpus else {})}
    corpora = {name: load_corpus(path) for name, path in sets.items()}
    record: Dict[str, Any] = {}
    if state.is_main_process:
        t0 = time.time()
        set_threads(settings.num_threads)
        seq_len, max_eval = settings.seq_len, settings.max_eval_blocks
        tokenizer = AutoTokenizer.from_pretrained(str(pretrain_dir / "general"))
        packed = {name: tokenize_and_pack(c["validation"], tokenizer, seq_len, max_eval, desc=f"eval {name}")
                  for name, c in corpora.items()}
        comparison: Dict[str, Dict[str, float]] = {}
        for run in runs:
            comparison[run] = {}
            for name, blocks in packed.items():
                comparison[run][name] = evaluate_loss(pretrain_dir / run, blocks, settings, max_eval)
                logger.info(f"[report] {run} on {name} validation: perplexity {perplexity(comparison[run][name]):.2f}")
        table = comparison_table(comparison)
        record = {
            "loss": comparison,
            "perplexity": {run: {s: perplexity(v) for s, v in r.items()} for run, r in comparison.items()},
            "validation_sets": {name: str(path) for name, path in sets.items()},
            "eval_blocks": {name: min(b.n_blocks, max_eval) for name, b in packed.items()},
            "masks": {"seed": settings.seed, "mlm_probability": settings.mlm_probability},
            "runs": {run: {"dir": str(pretrain_dir / run), "init": info.get("init"), "steps": info.get("steps"),
                           "tokens_seen": info.get("tokens_seen"), "wall_time_s": info.get("wall_time_s")}
                     for run, info in infos.items()},
            "wall_time_s": time.time() - t0,
            **environment(),
        }
        report_dir = clear_dir(pretrain_dir / report_name)
        (report_dir / COMPARISON_FILE).write_text(json.dumps(record, indent=2, default=str), encoding="utf8")
        (report_dir / "README.md").write_text(_report_md(record, table), encoding="utf8")
        if not assemble_model:
            logger.info(table)
            logger.info(f"[report] done in {record['wall_time_s']:.0f} s: {report_dir}")
            state.wait_for_everyone()
            return record
        model_dir = pretrain_dir / "model"
        if model_dir.exists():
            clear_dir(model_dir)
            model_dir.rmdir()
        shutil.copytree(pretrain_dir / "bio", model_dir, ignore=shutil.ignore_patterns(CHECKPOINT_DIR))
        bio = {**infos["bio"], "comparison_loss": comparison["bio"]}
        (model_dir / "README.md").write_text(
            model_card(bio, corpus_stats_md(bio_corpus), MODEL_DESCRIPTION, table) + "\n", encoding="utf8")
        (model_dir / RUN_INFO_FILE).write_text(
            json.dumps({**bio, "comparison": record}, indent=2, default=str), encoding="utf8")
        logger.info(table)
        logger.info(f"[report] done in {record['wall_time_s']:.0f} s: {report_dir}; product: {model_dir}")
    state.wait_for_everyone()
    return record


def _report_md(record: Dict[str, Any], table: str) -> str:
    masks = record["masks"]
    blocks = ", ".join(f"{n:,} {name}" for name, n in record["eval_blocks"].items())
    lines = [
        "# Pretraining runs compared",
        "",
        "Perplexity of each model on each validation set: the same blocks and the same whole-word masks "
        f"for every model (mask seed {masks['seed']}, {masks['mlm_probability']:.0%} of the words; "
        f"validation blocks: {blocks}). Lower is better; `bio` vs `control` (when there) isolates the domain effect.",
        "",
        table,
        "",
    ]
    rows = []
    for run, r in record["runs"].items():
        fmt = [f"{r[k]:,}" if isinstance(r.get(k), int) else "n/a" for k in ("steps", "tokens_seen")]
        wall = f"{r['wall_time_s']:.0f}" if r.get("wall_time_s") is not None else "n/a"
        rows.append((run, r["init"], fmt[0], fmt[1], wall))
    lines.append(markdown_table(rows, ["run", "initialised from", "optimizer steps", "tokens seen", "wall time (s)"],
                                aligns="llrrr"))
    lines += ["", "Validation sets: " + ", ".join(f"{n} `{p}`" for n, p in record["validation_sets"].items()) + ".",
              "Raw numbers: `comparison.json`.", ""]
    return "\n".join(lines)


def run_all(
    profile: PretrainProfile,
    bio_corpus: PathLike,
    output: PathLike,
    general_corpus: Optional[PathLike] = None,
    resume: bool = False,
    base: Optional[str] = None,
) -> Dict[str, Any]:
    """Every step in order, in this process: tokenizer + general (or the base), bio, control, report.

    ``base``: overrides ``[base] model`` (``""`` = from scratch). Writes
    ``output/{tokenizer,general,bio,control,report,model}``; returns the report.
    """
    t0 = time.time()
    output = Path(output)
    base_name = resolve_base_or_scratch(profile.base.model if base is None else base)
    if base_name is None and general_corpus is None:
        raise ValueError("No base model is reachable and no general corpus was given: "
                         "pass --general-corpus to pretrain a general-French base from scratch.")
    for corpus in (bio_corpus, general_corpus):
        if corpus is not None:
            load_corpus(corpus)  # a missing or malformed corpus fails now, not after the first runs
    general_dir = output / "general"
    if base_name is None:
        tokenizer_step(profile, general_corpus, output / "tokenizer")
        run_step("general", profile, general_corpus, general_dir, tokenizer_dir=output / "tokenizer",
                 resume=resume)
    else:
        save_base_step(profile, base_name, general_dir)
    run_step("bio", profile, bio_corpus, output / "bio", init=str(general_dir), resume=resume)
    if general_corpus is not None:
        run_step("control", profile, general_corpus, output / "control", init=str(general_dir), resume=resume)
    record = report_step(profile, bio_corpus, output, general_corpus)
    logger.info(f"Pretraining stage done in {time.time() - t0:.0f} s")
    return record
