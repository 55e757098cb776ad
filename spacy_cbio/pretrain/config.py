"""Pretraining profiles: confection ``.cfg`` files under ``configs/pretrain/``."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, Optional, Union

from confection import Config

from .modeling import DEFAULT_PROFILE
from .mlm import TRAINING_DEFAULTS

SECTIONS = {
    "base": {"model": "", "general_steps": 1000},
    "tokenizer": {"vocab_size": 32000, "max_texts": 200_000, "seed": 0},
    "model": DEFAULT_PROFILE,
    "training": TRAINING_DEFAULTS,
}


def load_profile(path: Union[str, Path], overrides: Optional[Dict[str, Any]] = None) -> Dict[str, Dict[str, Any]]:
    """Read a profile, check its sections/keys, fill defaults; ``overrides`` like ``{"training.max_steps": 10}``."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: pretraining profile not found")
    cfg = Config().from_disk(path, overrides=overrides or {}, interpolate=True)
    unknown = set(cfg) - set(SECTIONS)
    if unknown:
        raise ValueError(f"{path}: unknown sections {sorted(unknown)}; expected {sorted(SECTIONS)}")
    out: Dict[str, Dict[str, Any]] = {}
    for name, defaults in SECTIONS.items():
        section = dict(cfg.get(name, {}))
        bad = set(section) - set(defaults)
        if bad:
            raise ValueError(f"{path}: [{name}] unknown keys {sorted(bad)}; expected {sorted(defaults)}")
        out[name] = {**defaults, **section}
    return out


def profile_text(profile: Dict[str, Dict[str, Any]]) -> str:
    """The resolved profile as .cfg text (recorded in outputs)."""
    return Config(profile).to_str()
