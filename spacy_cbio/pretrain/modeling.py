"""Build or load CamemBERT masked-LM models for (continual) pretraining."""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, Mapping, Optional, Tuple, Union

import torch

from transformers import (
    AutoConfig,
    AutoModelForMaskedLM,
    AutoTokenizer,
    CamembertConfig,
    CamembertForMaskedLM,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)
from transformers.modeling_outputs import MaskedLMOutput

from ..settings import SettingsModel, validate_block
from .tokenizer import vocab_size_for

logger = logging.getLogger(__name__)



class ModelSettings(SettingsModel):
    """``[model]``: the architecture of a from-scratch run (CamembertConfig fields; camembert-base's by default)."""

    layers: int = 12  # num_hidden_layers
    hidden: int = 768  # hidden_size
    heads: int = 12  # num_attention_heads
    intermediate: int = 3072  # intermediate_size
    max_len: int = 512  # tokens per sequence (positions: max_len + pad + 1)
    dropout: float = 0.1  # hidden and attention dropout


def model_settings(section: Union[ModelSettings, Mapping[str, Any]], source: str = "") -> ModelSettings:
    """``[model]`` as typed settings over the defaults (a :class:`ModelSettings` is returned as is)."""
    return validate_block(section, ModelSettings, source=source, section="model")


class BaseUnreachable(RuntimeError):
    """The configured base checkpoint cannot be loaded (offline hub, missing dir)."""


def build_config(profile: Union[ModelSettings, Mapping[str, Any]], tokenizer: PreTrainedTokenizerBase) -> CamembertConfig:
    """CamembertConfig from a ``[model]`` profile section, sized for ``tokenizer``.

    Position embeddings follow RoBERTa: ``max_len + pad_token_id + 1`` rows
    (514 for 512 tokens), since positions start after the padding index.
    """
    p = model_settings(profile)
    if p.hidden % p.heads:
        raise ValueError(f"[model]: hidden={p.hidden} is not divisible by heads={p.heads}")
    pad = tokenizer.pad_token_id
    return CamembertConfig(
        vocab_size=vocab_size_for(tokenizer),
        hidden_size=p.hidden,
        num_hidden_layers=p.layers,
        num_attention_heads=p.heads,
        intermediate_size=p.intermediate,
        max_position_embeddings=p.max_len + pad + 1,
        hidden_dropout_prob=p.dropout,
        attention_probs_dropout_prob=p.dropout,
        type_vocab_size=1,
        pad_token_id=pad,
        bos_token_id=tokenizer.cls_token_id,
        eos_token_id=tokenizer.sep_token_id,
    )


# transformers' "unset" model_max_length (VERY_LARGE_INTEGER) is any value above this
_UNSET_MAX_LENGTH = 10**12


def max_tokens_for(config) -> int:
    """Tokens per sequence (specials included) a RoBERTa/CamemBERT ``config`` embeds.

    Positions start after the padding index: ``max_position_embeddings -
    pad_token_id - 1`` (512 for camembert-base's 514 rows and pad 1).
    """
    pad = config.pad_token_id if config.pad_token_id is not None else 1
    return int(config.max_position_embeddings) - int(pad) - 1


def set_model_max_length(tokenizer: PreTrainedTokenizerBase, config, keep_base: bool = False) -> int:
    """Give ``tokenizer`` the ``model_max_length`` its model can embed; returns it.

    From scratch (``keep_base=False``): the positions' limit (:func:`max_tokens_for`).
    Continued (``keep_base=True``): the base tokenizer's own value (512 for
    camembert-base) when it has one that fits, else the positions' limit. An
    unset value (transformers' huge default) made pipelines crash on long
    texts ("The expanded size of the tensor (621) must match ... (514)").
    """
    limit = max_tokens_for(config)
    current = getattr(tokenizer, "model_max_length", None)
    unset = current is None or current > _UNSET_MAX_LENGTH
    if keep_base and not unset and current <= limit:
        return int(current)
    if keep_base and not unset and current > limit:
        logger.warning("tokenizer model_max_length %d exceeds the model's %d positions; using %d",
                       current, limit, limit)
    tokenizer.model_max_length = limit
    if hasattr(tokenizer, "init_kwargs"):  # what save_pretrained writes to tokenizer_config.json
        tokenizer.init_kwargs["model_max_length"] = limit
    return limit


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
    set_model_max_length(tokenizer, model.config, keep_base=True)
    return model, tokenizer


def init_model(
    profile: Union[ModelSettings, Mapping[str, Any]],
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
    torch.manual_seed(seed)
    model = CamembertForMaskedLM(build_config(profile, tokenizer))
    set_model_max_length(tokenizer, model.config)
    return model, tokenizer


class CamembertForMaskedOnlyLM(CamembertForMaskedLM):
    """``CamembertForMaskedLM`` that runs the LM head on masked positions only.

    The vocabulary projection dominates the cost of small models; with labels
    given, hidden states are gathered where ``labels != -100`` before
    ``lm_head``, so the loss equals the full-head loss at a fraction of the
    cost. Weights and parameter names are those of ``CamembertForMaskedLM``
    (export with :func:`to_plain_mlm`).
    """

    def forward(self, input_ids=None, attention_mask=None, labels=None, **kwargs):
        if labels is None:
            return super().forward(input_ids=input_ids, attention_mask=attention_mask, **kwargs)
        kwargs.pop("return_dict", None)
        num_items = kwargs.pop("num_items_in_batch", None)
        hidden = self.roberta(input_ids=input_ids, attention_mask=attention_mask, return_dict=True, **kwargs)[0]
        selected = labels != -100
        logits = self.lm_head(hidden[selected])
        target = labels[selected]
        if target.numel():
            # token-level mean over the whole (gradient-accumulated) batch when the
            # Trainer passes the count, like transformers' own ForMaskedLMLoss
            reduction = "mean" if num_items is None else "sum"
            loss = torch.nn.functional.cross_entropy(logits.float(), target, reduction=reduction)
            if num_items is not None:
                loss = loss / num_items
        else:  # no masked token in the batch: a zero loss that keeps the graph
            loss = logits.sum() * 0.0
        return MaskedLMOutput(loss=loss, logits=logits)


def to_plain_mlm(model: PreTrainedModel) -> CamembertForMaskedLM:
    """A plain ``CamembertForMaskedLM`` with the same weights (for saving)."""
    if type(model) is CamembertForMaskedLM:
        return model
    plain = CamembertForMaskedLM(model.config)
    plain.load_state_dict(model.state_dict())
    plain.config.architectures = ["CamembertForMaskedLM"]
    return plain.to(next(model.parameters()).device)


def as_masked_only(model: PreTrainedModel) -> CamembertForMaskedOnlyLM:
    """Switch a (Camembert/Roberta-like) masked LM to the masked-only head in place."""
    if not hasattr(model, "roberta") or not hasattr(model, "lm_head"):
        raise TypeError(f"{type(model).__name__}: masked-only head needs a RoBERTa-style model")
    model.__class__ = CamembertForMaskedOnlyLM
    return model
