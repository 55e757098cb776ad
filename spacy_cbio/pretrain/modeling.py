"""Build or load CamemBERT masked-LM models for (continual) pretraining."""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, Dict, Optional, Tuple

from transformers import (
    AutoConfig,
    AutoModelForMaskedLM,
    AutoTokenizer,
    CamembertConfig,
    CamembertForMaskedLM,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)

from .tokenizer import vocab_size_for

logger = logging.getLogger(__name__)

# [model] section keys -> CamembertConfig fields
DEFAULT_PROFILE: Dict[str, Any] = {
    "layers": 12,
    "hidden": 768,
    "heads": 12,
    "intermediate": 3072,
    "max_len": 512,
    "dropout": 0.1,
}


class BaseUnreachable(RuntimeError):
    """The configured base checkpoint cannot be loaded (offline hub, missing dir)."""


def build_config(profile: Dict[str, Any], tokenizer: PreTrainedTokenizerBase) -> CamembertConfig:
    """CamembertConfig from a ``[model]`` profile section, sized for ``tokenizer``.

    Position embeddings follow RoBERTa: ``max_len + pad_token_id + 1`` rows
    (514 for 512 tokens), since positions start after the padding index.
    """
    p = {**DEFAULT_PROFILE, **dict(profile)}
    unknown = set(p) - set(DEFAULT_PROFILE)
    if unknown:
        raise ValueError(f"[model]: unknown keys {sorted(unknown)}; expected {sorted(DEFAULT_PROFILE)}")
    if p["hidden"] % p["heads"]:
        raise ValueError(f"[model]: hidden={p['hidden']} is not divisible by heads={p['heads']}")
    pad = tokenizer.pad_token_id
    return CamembertConfig(
        vocab_size=vocab_size_for(tokenizer),
        hidden_size=int(p["hidden"]),
        num_hidden_layers=int(p["layers"]),
        num_attention_heads=int(p["heads"]),
        intermediate_size=int(p["intermediate"]),
        max_position_embeddings=int(p["max_len"]) + pad + 1,
        hidden_dropout_prob=float(p["dropout"]),
        attention_probs_dropout_prob=float(p["dropout"]),
        type_vocab_size=1,
        pad_token_id=pad,
        bos_token_id=tokenizer.cls_token_id,
        eos_token_id=tokenizer.sep_token_id,
    )


def resolve_base(name: Optional[str]) -> Optional[str]:
    """Return ``name`` if its config can be loaded (local dir or hub), else raise.

    Empty/None means "from scratch" and returns None. An unreachable base
    raises :class:`BaseUnreachable` with a one-line reason, never a traceback.
    """
    if not name:
        return None
    if Path(name).exists() and not Path(name).is_dir():
        raise BaseUnreachable(f"base '{name}' is a file, expected a model directory or hub name")
    try:
        AutoConfig.from_pretrained(name, trust_remote_code=False)
    except (OSError, ValueError) as err:
        offline = os.environ.get("HF_HUB_OFFLINE", "0") not in ("0", "", "false", "False")
        why = "HF_HUB_OFFLINE is set" if offline else str(err).splitlines()[0]
        raise BaseUnreachable(f"base '{name}' is unreachable ({why})") from None
    return name


def load_base(name: str) -> Tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """Load a base masked LM and ITS tokenizer (safetensors only, no remote code)."""
    tokenizer = AutoTokenizer.from_pretrained(name, trust_remote_code=False)
    model = AutoModelForMaskedLM.from_pretrained(name, trust_remote_code=False, use_safetensors=True)
    needed = vocab_size_for(tokenizer)
    if model.get_input_embeddings().num_embeddings < needed:
        model.resize_token_embeddings(needed)
    return model, tokenizer


def init_model(
    profile: Dict[str, Any],
    tokenizer: Optional[PreTrainedTokenizerBase] = None,
    base: Optional[str] = None,
    seed: int = 0,
) -> Tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """A masked LM to pretrain: loaded from ``base`` or initialised from scratch.

    With a base (hub name or local dir) the base's own tokenizer is kept
    (continual pretraining) and ``tokenizer``/``profile`` are ignored. Without
    one, a fresh ``CamembertForMaskedLM`` is built from ``profile`` (the
    ``[model]`` section) for ``tokenizer``, seeded with ``seed``.
    """
    if base:
        model, base_tok = load_base(base)
        if tokenizer is not None and tokenizer.get_vocab() != base_tok.get_vocab():
            logger.info("init_model: base '%s' has its own tokenizer; keeping it", base)
        return model, base_tok
    if tokenizer is None:
        raise ValueError("init_model: a tokenizer is required to build a model from scratch")
    import torch

    torch.manual_seed(seed)
    model = CamembertForMaskedLM(build_config(profile, tokenizer))
    return model, tokenizer
