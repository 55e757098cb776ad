"""Assemble a spaCy NER training config: base + head + dataset + profile (+ overrides).

``configs/ner/base.cfg`` is a complete config (transformer + ``cbio_token_ner``).
``head="transition"`` swaps its ``[components.ner]`` for spaCy's stock
transition-based ``ner`` (``configs/ner/head_transition.cfg``). Dataset files set
``[paths]``; profile files set steps, batch size, windows and the schedule.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Dict, List, Optional, Union

import srsly
from confection import Config

CONFIG_DIR_ENV = "CBIO_CONFIG_DIR"
HEADS = ("token", "transition")
# Model types whose position ids start after the padding index (RoBERTa family).
_PADDING_OFFSET_TYPES = {"roberta", "camembert", "xlm-roberta", "xlm_roberta"}
PathLike = Union[str, Path]


def config_dir() -> Path:
    """``configs/ner`` of the repository, or ``$CBIO_CONFIG_DIR`` when set."""
    env = os.environ.get(CONFIG_DIR_ENV)
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2] / "configs" / "ner"


def available(kind: str, root: Optional[Path] = None) -> List[str]:
    """Names of the configs of ``kind`` (``"datasets"`` or ``"profiles"``)."""
    folder = (root or config_dir()) / kind
    return sorted(p.stem for p in folder.glob("*.cfg"))


def _resolve_file(value: PathLike, kind: str, root: Path) -> Path:
    path = Path(value)
    if path.suffix == ".cfg" and path.exists():
        return path
    candidate = root / kind / f"{value}.cfg"
    if not candidate.exists():
        known = ", ".join(available(kind, root)) or "none"
        raise ValueError(f"unknown {kind[:-1]} {str(value)!r}: no {candidate} (known: {known})")
    return candidate


def _load(path: Path) -> Config:
    try:
        return Config().from_disk(path, interpolate=False)
    except Exception as err:  # confection reports the line; add the file name
        raise ValueError(f"{path}: cannot parse config: {err}") from err


def model_max_length(transformer: PathLike) -> Optional[int]:
    """Longest wordpiece sequence the local model accepts, from its ``config.json``.

    RoBERTa/CamemBERT keep 2 position rows for the padding offset (514 -> 512).
    Also capped by ``model_max_length`` in ``tokenizer_config.json`` if smaller.
    ``None`` when ``transformer`` is not a local model directory.
    """
    folder = Path(transformer)
    config_file = folder / "config.json"
    if not config_file.is_file():
        return None
    hf_config = json.loads(config_file.read_text(encoding="utf8"))
    n_positions = hf_config.get("max_position_embeddings")
    if not n_positions:
        return None
    offset = 2 if hf_config.get("model_type") in _PADDING_OFFSET_TYPES else 0
    limit = int(n_positions) - offset
    tok_file = folder / "tokenizer_config.json"
    if tok_file.is_file():
        tok_max = json.loads(tok_file.read_text(encoding="utf8")).get("model_max_length")
        if isinstance(tok_max, (int, float)) and 0 < tok_max < limit:
            limit = int(tok_max)
    return limit


def _parse_value(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return srsly.json_loads(value)
    except ValueError:
        return value


def parse_overrides(items: Optional[List[str]]) -> Dict[str, Any]:
    """``["training.max_steps=10", ...]`` to ``{"training.max_steps": 10}`` (JSON values, else strings)."""
    overrides: Dict[str, Any] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or "." not in key:
            raise ValueError(f"override {item!r} is not 'section.key=value'")
        overrides[key.strip()] = _parse_value(value.strip())
    return overrides


def assemble_config(
    dataset: PathLike,
    profile: PathLike = "small",
    transformer: Optional[PathLike] = None,
    head: str = "token",
    overrides: Optional[Dict[str, Any]] = None,
    root: Optional[Path] = None,
) -> Config:
    """Merge ``base.cfg`` + head + dataset + profile, then apply ``overrides``.

    dataset, profile: a name under ``configs/ner/{datasets,profiles}/`` or a ``.cfg`` path.
    transformer: local Hugging Face model directory (``[paths] transformer``); when it
    holds a ``config.json``, the tokenizer's ``model_max_length`` is set from it so
    that no window can overflow the position embeddings.
    head: ``"token"`` (``cbio_token_ner``) or ``"transition"`` (spaCy's ``ner``).
    overrides: dotted keys, e.g. ``{"training.max_steps": 10, "system.seed": 1}``.
    RETURNS: the (uninterpolated) config.
    """
    if head not in HEADS:
        raise ValueError(f"head must be one of {HEADS}, not {head!r}")
    root = root or config_dir()
    config = _load(root / "base.cfg")
    if head == "transition":
        del config["components"]["ner"]
        config = config.merge(_load(root / "head_transition.cfg"))
    config = config.merge(_load(_resolve_file(dataset, "datasets", root)))
    config = config.merge(_load(_resolve_file(profile, "profiles", root)))
    if transformer is not None:
        config["paths"]["transformer"] = str(transformer)
        max_length = model_max_length(transformer)
        if max_length is not None:
            config["components"]["transformer"]["model"]["tokenizer_config"]["model_max_length"] = max_length
    if overrides:
        config = Config().from_str(config.to_str(), overrides=dict(overrides), interpolate=False)
    return config
