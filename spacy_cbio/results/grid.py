"""The results grid: which models, datasets and seeds the results workflow trains and scores.

A grid is a config file (``configs/results/<profile>.cfg``)::

    [results]
    profile = "small"            # NER profile of the transformer recipe
    seeds = [0, 1, 2]
    datasets = ["e3c", "emea"]
    corpus = "corpus/ner"        # <corpus>/<dataset>/{train,dev,test}.spacy
    target = "bio"               # the gain reported is target over base (F1)
    base = "general"

    [models.bio]
    recipe = "transformer"       # transformer | cnn
    features = "stacked"         # transformer | stacked (transformer recipe only)
    head = "token"
    transformer = "training/pretrain/small/model"
    vectors = "training/vectors/small/bio"   # a vectors directory, a package name, or null

    n_seeds = 1                  # optional: only the grid's first n seeds for this model
    datasets = ["e3c"]           # optional: only these of the grid's datasets for this model

    [models.bio.overrides]       # optional spaCy config overrides for this model
    "training.max_steps" = 600

Each (model, dataset, seed) is one *run*: train with ``spacy_cbio train``, keep the best
checkpoint on dev, score it on dev and test (seqeval strict, IOB2) and write one JSON record.
"""
from __future__ import annotations

import hashlib
import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

from confection import Config

from ..train.config import FEATURES, HEADS, RECIPES

PathLike = Union[str, Path]


@dataclass(frozen=True)
class ModelSpec:
    """One column of the results table: how to train a pipeline."""

    name: str
    recipe: str = "transformer"
    features: str = "transformer"
    head: str = "token"
    transformer: Optional[str] = None
    vectors: Optional[str] = None
    overrides: Dict[str, Any] = field(default_factory=dict)
    # run only the grid's first n seeds (a costly model whose spread is not needed); None: all
    n_seeds: Optional[int] = None
    # run only these of the grid's datasets (a baseline already measured elsewhere); None: all
    datasets: Optional[Tuple[str, ...]] = None

    def runs_on(self, dataset: str, seed: int, seeds: Sequence[int]) -> bool:
        """Whether this model runs on ``dataset`` with ``seed`` (``seeds``: the grid's)."""
        if self.datasets is not None and dataset not in self.datasets:
            return False
        return self.n_seeds is None or seed in list(seeds)[: self.n_seeds]


@dataclass(frozen=True)
class Run:
    """One training run of the grid."""

    model: ModelSpec
    dataset: str
    seed: int

    @property
    def key(self) -> str:
        return f"{self.model.name}/{self.dataset}/seed{self.seed}"


@dataclass
class Grid:
    """The models × datasets × seeds to run, and what to compare."""

    profile: str
    seeds: List[int]
    datasets: List[str]
    models: Dict[str, ModelSpec]
    corpus: str = "corpus/ner"
    target: Optional[str] = None
    base: Optional[str] = None

    def runs(self, models: Optional[Sequence[str]] = None) -> List[Run]:
        """Every run, seed-major (all models and datasets of seed 0 first: a partial run
        already gives one complete seed)."""
        names = list(models) if models else list(self.models)
        unknown = [name for name in names if name not in self.models]
        if unknown:
            raise ValueError(f"unknown model(s) {unknown}: the grid has {list(self.models)}")
        return [Run(self.models[name], dataset, seed)
                for seed, name, dataset in itertools.product(self.seeds, names, self.datasets)
                if self.models[name].runs_on(dataset, seed, self.seeds)]

    def data(self, dataset: str, split: str) -> Path:
        return Path(self.corpus) / dataset / f"{split}.spacy"


def _spec(name: str, block: Dict[str, Any]) -> ModelSpec:
    known = {"recipe", "features", "head", "transformer", "vectors", "overrides", "n_seeds", "datasets"}
    extra = set(block) - known
    if extra:
        raise ValueError(f"[models.{name}]: unknown key(s) {sorted(extra)} (known: {sorted(known)})")
    if block.get("datasets") is not None:
        if isinstance(block["datasets"], str) or not block["datasets"]:
            raise ValueError(f"[models.{name}] datasets must be a non-empty list of dataset names, "
                             f"not {block['datasets']!r}")
        block = {**block, "datasets": tuple(str(d) for d in block["datasets"])}
    spec = ModelSpec(name=name, **{key: value for key, value in block.items()})
    if spec.recipe not in RECIPES:
        raise ValueError(f"[models.{name}] recipe must be one of {RECIPES}, not {spec.recipe!r}")
    if spec.features not in FEATURES:
        raise ValueError(f"[models.{name}] features must be one of {FEATURES}, not {spec.features!r}")
    if spec.head not in HEADS:
        raise ValueError(f"[models.{name}] head must be one of {HEADS}, not {spec.head!r}")
    if spec.n_seeds is not None and (not isinstance(spec.n_seeds, int) or spec.n_seeds < 1):
        raise ValueError(f"[models.{name}] n_seeds must be a positive integer (the grid's first n seeds), "
                         f"not {spec.n_seeds!r}")
    if spec.recipe == "transformer" and not spec.transformer:
        raise ValueError(f"[models.{name}] the transformer recipe needs `transformer` (a model directory)")
    return spec


def load_grid(path: PathLike, overrides: Optional[Dict[str, Any]] = None) -> Grid:
    """Read a grid config (see the module docstring); ``overrides`` as ``{"results.seeds": [0]}``."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no results grid {path}")
    config = Config().from_disk(path, overrides=overrides or {})
    if "results" not in config or "models" not in config:
        raise ValueError(f"{path}: a results grid needs [results] and [models.<name>] blocks")
    section = dict(config["results"])
    models = {name: _spec(name, dict(block)) for name, block in config["models"].items()}
    if not models:
        raise ValueError(f"{path}: no [models.<name>] block")
    for role in ("target", "base"):
        if section.get(role) is not None and section[role] not in models:
            raise ValueError(f"{path}: [results] {role} = {section[role]!r} is not a model of the grid")
    datasets = list(section["datasets"])
    # a model's datasets name datasets of the file (a --datasets override may narrow the grid)
    own = datasets if not overrides or "results.datasets" not in overrides else \
        list(Config().from_disk(path)["results"]["datasets"])
    for spec in models.values():
        unknown = sorted(set(spec.datasets or ()) - set(own))
        if unknown:
            raise ValueError(f"{path}: [models.{spec.name}] datasets {unknown} are not in [results] datasets {own}")
    seeds = [int(seed) for seed in section.get("seeds", [0])]
    if not seeds or len(set(seeds)) != len(seeds):
        raise ValueError(f"{path}: [results] seeds must be distinct and non-empty, not {seeds}")
    return Grid(profile=str(section.get("profile", "small")), seeds=seeds,
                datasets=datasets, models=models,
                corpus=str(section.get("corpus", "corpus/ner")),
                target=section.get("target"), base=section.get("base"))


def train_overrides(grid: Grid, run: Run) -> Dict[str, Any]:
    """The ``spacy_cbio train`` config overrides of ``run``."""
    spec = run.model
    overrides: Dict[str, Any] = {
        "paths.train": str(grid.data(run.dataset, "train")),
        "paths.dev": str(grid.data(run.dataset, "dev")),
        "paths.vectors": spec.vectors,
        "system.seed": run.seed,
    }
    if spec.recipe == "transformer":
        overrides["paths.transformer"] = spec.transformer
        overrides["cbio.features"] = spec.features
    overrides.update(spec.overrides)
    return overrides


def config_hash(config: Config) -> str:
    """A short content hash of a training config (identifies what a run trained)."""
    return hashlib.sha256(config.to_str().encode("utf8")).hexdigest()[:16]
