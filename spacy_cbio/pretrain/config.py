"""Pretraining profiles: confection ``.cfg`` files under ``configs/pretrain/``, as typed settings."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, Optional, Union

from confection import Config
from pydantic import Field

from ..settings import SettingsModel, load_block
from .mlm import TrainingSettings
from .modeling import ModelSettings


class BaseSettings(SettingsModel):
    """``[base]``: the starting point of the stage."""

    # hub name or local dir to continue from; empty = train a general-French base here
    model: Optional[str] = ""
    # optimizer steps of the from-scratch general-French run
    general_steps: int = 1000


class TokenizerSettings(SettingsModel):
    """``[tokenizer]``: the SentencePiece tokenizer of a from-scratch run."""

    vocab_size: int = 32000
    max_texts: int = 200_000
    seed: int = 0


class BenchmarkSettings(SettingsModel):
    """``[benchmark]``: the side-by-side speed runs of ``benchmark-pretrain`` (its defaults)."""

    # optimizer steps of each loop in each round
    steps: int = Field(30, ge=1)
    # alternating rounds; each loop's median round is kept
    rounds: int = Field(3, ge=1)


class PretrainProfile(SettingsModel):
    """A whole pretraining profile: ``[base]``, ``[tokenizer]``, ``[model]``, ``[training]``,
    ``[benchmark]``."""

    base: BaseSettings = Field(default_factory=BaseSettings)
    tokenizer: TokenizerSettings = Field(default_factory=TokenizerSettings)
    model: ModelSettings = Field(default_factory=ModelSettings)
    training: TrainingSettings = Field(default_factory=TrainingSettings)
    benchmark: BenchmarkSettings = Field(default_factory=BenchmarkSettings)


def load_profile(path: Union[str, Path], overrides: Optional[Dict[str, Any]] = None) -> PretrainProfile:
    """Read a profile, check its blocks/keys/types, fill defaults; ``overrides`` like ``{"training.max_steps": 10}``.

    RAISES: FileNotFoundError; :class:`~spacy_cbio.settings.SettingsError` naming the file, block and key.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: pretraining profile not found")
    return load_block(path, None, PretrainProfile, overrides)


def profile_text(profile: PretrainProfile) -> str:
    """The resolved profile as .cfg text (recorded in outputs)."""
    return Config(profile.model_dump()).to_str()
