"""Tiny local CamemBERT models for tests and smoke checks (no hub access)."""
from __future__ import annotations

from pathlib import Path
from typing import Iterable, List, Optional, Union

from .modeling import init_model
from .tokenizer import train_tokenizer

SAMPLE_FILE = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "pretrain" / "fr_bio_sample.txt"

TINY_PROFILE = {"layers": 2, "hidden": 32, "heads": 2, "intermediate": 64, "max_len": 512, "dropout": 0.1}

# Fallback when the repository's fixture file is not available (installed package).
_FALLBACK = [
    "Le patient a reçu du paracétamol pour une fièvre persistante.",
    "Une femme de 54 ans a consulté pour une douleur thoracique.",
    "Le scanner thoracique a montré un épanchement pleural bilatéral.",
    "Ne prenez jamais ce médicament si vous êtes allergique à l'amoxicilline.",
    "L'évolution a été favorable après dix jours de traitement antibiotique.",
    "La biopsie hépatique a confirmé un carcinome hépatocellulaire.",
    "Des nausées, des vomissements et des céphalées ont été rapportés.",
    "La posologie habituelle chez l'adulte est de 500 mg deux fois par jour.",
]


def sample_texts() -> List[str]:
    """The French biomedical sample sentences used to build tiny models."""
    if SAMPLE_FILE.exists():
        return [line for line in SAMPLE_FILE.read_text(encoding="utf8").splitlines() if line.strip()]
    return list(_FALLBACK) * 8


def make_tiny_model(
    output_dir: Union[str, Path],
    texts: Optional[Iterable[str]] = None,
    vocab_size: int = 800,
    seed: int = 0,
) -> Path:
    """Train a tiny tokenizer and save a tiny random ``CamembertForMaskedLM``.

    2 layers, hidden 32, 2 heads, 514 positions; saved with safetensors and
    the tokenizer so ``AutoModel.from_pretrained(output_dir)`` and
    spacy-transformers (``name = output_dir``) load it offline.
    """
    output_dir = Path(output_dir)
    texts = sample_texts() if texts is None else list(texts)
    tokenizer = train_tokenizer(texts, output_dir, vocab_size=vocab_size, seed=seed)
    model, tokenizer = init_model(TINY_PROFILE, tokenizer, seed=seed)
    model.save_pretrained(str(output_dir), safe_serialization=True)
    tokenizer.save_pretrained(str(output_dir))
    return output_dir


# camembert-base's config.json (almanach/camembert-base): what `--init camembert-base` continues from
CAMEMBERT_BASE_CONFIG = {
    "architectures": ["CamembertForMaskedLM"],
    "model_type": "camembert",
    "vocab_size": 32005,
    "hidden_size": 768,
    "num_hidden_layers": 12,
    "num_attention_heads": 12,
    "intermediate_size": 3072,
    "hidden_act": "gelu",
    "hidden_dropout_prob": 0.1,
    "attention_probs_dropout_prob": 0.1,
    "max_position_embeddings": 514,
    "type_vocab_size": 1,
    "initializer_range": 0.02,
    "layer_norm_eps": 1e-05,
    "pad_token_id": 1,
    "bos_token_id": 5,
    "eos_token_id": 6,
}

# the narrow variant for fast tests: camembert-base's layout, 2 layers x 64
NARROW = {"hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 128}


def make_camembert_base_layout(
    output_dir: Union[str, Path],
    full: bool = False,
    texts: Optional[Iterable[str]] = None,
    vocab_size: int = 1000,
    seed: int = 0,
) -> Path:
    """A local stand-in for camembert-base (no hub access): its files, layout and config, random weights.

    Writes ``config.json`` (camembert-base's values; ``full=False`` narrows
    it to 2 layers x 64 with the vocabulary sized from the tokenizer's
    largest id), a SentencePiece **BPE** model ``sentencepiece.bpe.model``
    trained on French ``texts`` in CamemBERT's fairseq layout
    (``<s>NOTUSED`` 0, ``<pad>`` 1, ``</s>NOTUSED`` 2, ``<unk>`` 3, ``<s>``
    5, ``</s>`` 6, ``<mask>`` last), ``tokenizer.json``,
    ``tokenizer_config.json`` with ``model_max_length`` 512 like
    camembert-base's, and ``model.safetensors`` (random ``CamembertForMaskedLM``).
    ``full=True`` keeps camembert-base's full shape (12 x 768, vocab 32005:
    ids above the tokenizer's are unused rows, ~110M parameters).
    """
    import json

    import torch
    from transformers import CamembertConfig, CamembertForMaskedLM

    from .tokenizer import vocab_size_for

    output_dir = Path(output_dir)
    texts = sample_texts() if texts is None else list(texts)
    tokenizer = train_tokenizer(texts, output_dir, vocab_size=vocab_size, seed=seed, model_type="bpe")
    values = dict(CAMEMBERT_BASE_CONFIG)
    if not full:
        values.update(NARROW, vocab_size=vocab_size_for(tokenizer))
    if vocab_size_for(tokenizer) > values["vocab_size"]:
        raise ValueError(f"make_camembert_base_layout: the tokenizer needs {vocab_size_for(tokenizer)} rows, "
                         f"more than camembert-base's {values['vocab_size']}")
    assert (tokenizer.cls_token_id, tokenizer.sep_token_id, tokenizer.pad_token_id) == (5, 6, 1), \
        "CamemBERT's fairseq layout: <s> 5, </s> 6, <pad> 1"
    config = CamembertConfig(**{k: v for k, v in values.items() if k != "model_type"})
    torch.manual_seed(seed)
    model = CamembertForMaskedLM(config)
    model.save_pretrained(str(output_dir), safe_serialization=True)
    tokenizer.model_max_length = 512
    tokenizer.init_kwargs["model_max_length"] = 512
    tokenizer.save_pretrained(str(output_dir))
    tok_config = json.loads((output_dir / "tokenizer_config.json").read_text(encoding="utf8"))
    assert tok_config.get("model_max_length") == 512
    return output_dir


# -- the tiny pretraining stage, as the spaCy project runs it (one CLI command per step) ----------

TINY_CONFIG = Path(__file__).resolve().parents[2] / "configs" / "pretrain" / "tiny.cfg"
UNREACHABLE_BASE = "almanach/not-reachable-offline"
STAGE_STEPS = "8"  # per run (tiny.cfg has 16): half the time, the same code paths


def invoke_cli(*args):
    """Run ``python -m spacy_cbio ARGS`` in-process (typer's CliRunner): logging set up as on
    the command line, stdout and stderr in ``result.output``."""
    from typer.testing import CliRunner

    from ..__main__ import make_app

    args = [str(a) for a in args]
    return CliRunner().invoke(make_app([args[0]]), args)


def ok(result) -> str:
    """The output of a command that succeeded (else an assertion error showing it)."""
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    return result.output


def snapshot(root: Path) -> dict:
    """``{relative path: sha256}`` of every file under ``root``."""
    import hashlib

    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(Path(root).rglob("*")) if p.is_file()}


def run_tiny_stage(bio: Path, general: Path, out: Path) -> tuple:
    """The tiny stage from scratch (the base unreachable): pretrain-tokenizer, pretrain-run
    general/bio/control, pretrain-report. RETURNS ``(out, outputs, snapshots)``: each command's
    output, and the run folders' snapshots taken before the report."""
    outputs = [ok(invoke_cli("pretrain-tokenizer", TINY_CONFIG, general, out / "tokenizer",
                             "--base", UNREACHABLE_BASE))]
    outputs.append(ok(invoke_cli("pretrain-run", "general", TINY_CONFIG, general, out / "general",
                                 "--tokenizer", out / "tokenizer", "--init", UNREACHABLE_BASE,
                                 "--steps", STAGE_STEPS)))
    for run, corpus in (("bio", bio), ("control", general)):
        outputs.append(ok(invoke_cli("pretrain-run", run, TINY_CONFIG, corpus, out / run,
                                     "--init", out / "general", "--steps", STAGE_STEPS)))
    snapshots = {run: snapshot(out / run) for run in ("general", "bio", "control")}
    outputs.append(ok(invoke_cli("pretrain-report", TINY_CONFIG, bio, out, "--general-corpus", general)))
    return out, outputs, snapshots
