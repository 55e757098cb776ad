"""Assemble a spaCy NER training config: base + head + profile (+ spaCy-style overrides).

The configs ship inside the package (``spacy_cbio/configs/ner``; the repository's
``configs/ner`` is a link to it). ``base.cfg`` is a complete config (transformer +
``cbio_token_ner``); ``head="transition"`` swaps its ``[components.ner]`` for spaCy's
stock transition-based ``ner`` (``head_transition.cfg``); a profile
(``profiles/<name>.cfg``) sets steps, batch size, windows and the learning rate.
Data and model come as overrides, exactly as ``spacy train`` takes them:
``{"paths.train": ..., "paths.dev": ..., "paths.transformer": ..., "system.seed": 1}``.
"""
from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any, Dict, List, Literal, Optional, Union

from confection import Config

from ..settings import SettingsModel, validate_block

HEADS = ("token", "transition")
FEATURES = ("transformer", "stacked")
# transformer: base.cfg + head + features + profile; cnn: spaCy's CNN baseline (cnn.cfg, no profile)
RECIPES = ("transformer", "cnn")
STATIC_VECTORS_KEY = "components.tok2vec.model.embed.include_static_vectors"
# Model types whose position ids start after the padding index (RoBERTa family).
_PADDING_OFFSET_TYPES = {"roberta", "camembert", "xlm-roberta", "xlm_roberta"}
MAX_LENGTH_KEY = "components.transformer.model.tokenizer_config.model_max_length"
PathLike = Union[str, Path]


class CbioSettings(SettingsModel):
    """``[cbio]`` of a NER config: how :func:`assemble_config` builds it (recorded in the package meta)."""

    recipe: Literal["transformer", "cnn"] = "transformer"
    # the head's token features: transformer (base.cfg), stacked (+ static vectors), static (cnn.cfg)
    features: Literal["transformer", "stacked", "static"] = "transformer"
    # stacked features only: width and depth of the Tok2Vec over the static vectors
    static_width: int = 256
    static_depth: int = 8


def cbio_settings(config: Config, overrides: Dict[str, Any], source: PathLike) -> CbioSettings:
    """The ``[cbio]`` block of ``config`` with the ``cbio.*`` overrides applied, checked and typed."""
    block = dict(config.get("cbio", {}))
    given = {key[len("cbio."):]: value for key, value in overrides.items() if key.startswith("cbio.")}
    where = f"{source} with overrides {sorted(given)}" if given else str(source)
    return validate_block({**block, **given}, CbioSettings, source=where, section="cbio")


def config_dir() -> Path:
    """The NER configs shipped with the package (``spacy_cbio/configs/ner``)."""
    return Path(str(resources.files("spacy_cbio") / "configs" / "ner"))


def available_profiles(root: Optional[Path] = None) -> List[str]:
    """Names of the shipped profiles (``profiles/*.cfg``)."""
    return sorted(p.stem for p in ((root or config_dir()) / "profiles").glob("*.cfg"))


def _resolve_profile(value: PathLike, root: Path) -> Path:
    path = Path(value)
    if path.suffix == ".cfg" and path.exists():
        return path
    candidate = root / "profiles" / f"{value}.cfg"
    if not candidate.exists():
        known = ", ".join(available_profiles(root)) or "none"
        raise ValueError(f"unknown profile {str(value)!r}: no {candidate} (known: {known})")
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


def assemble_cnn_config(overrides: Optional[Dict[str, Any]] = None, root: Optional[Path] = None) -> Config:
    """spaCy's CNN NER baseline (``cnn.cfg``) with ``overrides``; without ``paths.vectors`` its
    embedding does not include static vectors."""
    path = (root or config_dir()) / "cnn.cfg"
    config = _load(path)
    overrides = {key: str(v) if isinstance(v, Path) else v for key, v in (overrides or {}).items()}
    cbio_settings(config, overrides, path)
    if overrides.get("paths.vectors") is None and STATIC_VECTORS_KEY not in overrides:
        overrides[STATIC_VECTORS_KEY] = False
    return Config().from_str(config.to_str(), overrides=overrides, interpolate=False)


def assemble_config(
    profile: PathLike = "small",
    head: str = "token",
    overrides: Optional[Dict[str, Any]] = None,
    root: Optional[Path] = None,
) -> Config:
    """Merge ``base.cfg`` + head + profile (+ features), then apply ``overrides``.

    profile: a name under ``profiles/`` or a ``.cfg`` path.
    head: ``"token"`` (``cbio_token_ner``) or ``"transition"`` (spaCy's ``ner``).
    ``[cbio] features`` (set by the profile, or overridden with ``cbio.features``) picks
    the head's token features: ``"transformer"`` (base.cfg) or ``"stacked"``
    (``features_stacked.cfg``: transformer + static vectors, needs ``paths.vectors``).
    overrides: dotted keys as ``spacy.cli._util.parse_config_overrides`` returns them,
    e.g. ``{"paths.train": "corpus/ner/emea/train.spacy", "system.seed": 1}``. When
    ``paths.transformer`` is a local Hugging Face model directory, the tokenizer's
    ``model_max_length`` is set from its ``config.json`` (unless overridden) so that no
    window can overflow the position embeddings.
    RETURNS: the (uninterpolated) config.
    """
    if head not in HEADS:
        raise ValueError(f"head must be one of {HEADS}, not {head!r}")
    root = root or config_dir()
    config = _load(root / "base.cfg")
    if head == "transition":
        del config["components"]["ner"]
        config = config.merge(_load(root / "head_transition.cfg"))
    profile_path = _resolve_profile(profile, root)
    config = config.merge(_load(profile_path))
    features = cbio_settings(config, overrides or {}, profile_path).features
    if features not in FEATURES:
        raise ValueError(f"[cbio] features must be one of {FEATURES}, not {features!r}")
    if features == "stacked":
        del config["components"]["ner"]["model"]["tok2vec"]
        config = config.merge(_load(root / "features_stacked.cfg"))
    overrides = {key: str(v) if isinstance(v, Path) else v for key, v in (overrides or {}).items()}
    if overrides:
        config = Config().from_str(config.to_str(), overrides=overrides, interpolate=False)
    transformer = config["paths"]["transformer"]
    if transformer is not None and MAX_LENGTH_KEY not in overrides:
        max_length = model_max_length(transformer)
        if max_length is not None:
            config["components"]["transformer"]["model"]["tokenizer_config"]["model_max_length"] = max_length
    return config
