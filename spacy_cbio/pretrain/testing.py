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
