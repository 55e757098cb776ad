"""The results grid: what the results workflow trains, which runs choose and which runs report.

A grid is a config file (``configs/results/<profile>.cfg``)::

    [results]
    profile = "small"              # NER profile of the transformer recipe
    selection_seeds = [0, 1, 2]    # runs that choose settings: scored on dev only
    report_seeds = [3, 4, 5]       # runs of the reported configurations: dev and test
    datasets = ["e3c", "emea"]
    corpus = "corpus/ner"          # <corpus>/<dataset>/{train,dev,test}.spacy

    [models.default]
    recipe = "transformer"         # transformer | cnn
    features = "stacked"           # transformer | stacked (transformer recipe only)
    head = "token"
    transformer = "training/pretrain/small/model"
    vectors = "training/vectors/small/both"   # a vectors directory, a package name, or null
    phases = ["select", "report"]  # select: a candidate on the selection seeds; report: reported
    train_on = ["emea", "medline"] # optional: train on these datasets' train sets together
    tuned = "configs/tuned/small/cnn_md.json"  # optional: a `tune` record whose best values apply
    n_seeds = 1                    # optional: only the first n seeds of each phase
    datasets = ["e3c"]             # optional: only these of the grid's datasets

    [models.default.factors]       # optional: levels for the effects below
    transformer = "bio"
    vectors = "both"

    [models.default.overrides]     # optional spaCy config overrides
    "training.max_steps" = 600

    [decisions]

    [decisions.default]            # a choice made on dev, over the selection seeds
    candidates = ["default", "w96"]
    chosen = "default"             # what the profile uses (the report says if dev agrees)

    [comparisons]

    [comparisons.default_vs_cnn]   # a paired difference on the report seeds
    target = "default"
    base = "cnn_md"

    [effects]

    [effects.pretraining]          # factor effect, the other factors held fixed
    factor = "transformer"
    target = "bio"
    base = "general"
    # interaction: the effect at within = within_target minus the effect at within_base
    within = "vectors"
    within_target = "bio"
    within_base = "general"

Each (model, dataset, seed) is one *run*: train with ``spacy_cbio train``, keep the best
checkpoint on dev, score it (seqeval strict, IOB2) on dev, and on test only on a report seed.
The two seed lists are disjoint, so no test score can ever inform a choice.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Literal, Optional, Sequence, Tuple, Union

from confection import Config
from pydantic import ConfigDict, Field, ValidationInfo, field_validator, model_validator

from ..settings import SettingsError, SettingsModel, validate_block
from ..train.config import FEATURES, HEADS, RECIPES

PathLike = Union[str, Path]
Phase = Literal["select", "report"]
PHASES: Tuple[str, ...] = ("select", "report")


class GridError(SettingsError):
    """A results grid that cannot be read: the message names the file, the block and the key."""


class _Block(SettingsModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class ResultsBlock(_Block):
    """``[results]``."""

    profile: str = "small"
    selection_seeds: List[int] = Field(min_length=1)
    report_seeds: List[int] = Field(min_length=1)
    datasets: List[str] = Field(min_length=1)
    corpus: str = "corpus/ner"

    @model_validator(mode="after")
    def _seeds_disjoint(self) -> "ResultsBlock":
        for name in ("selection_seeds", "report_seeds"):
            seeds = getattr(self, name)
            if len(set(seeds)) != len(seeds):
                raise ValueError(f"{name} must be distinct, not {seeds}")
        shared = sorted(set(self.selection_seeds) & set(self.report_seeds))
        if shared:
            raise ValueError(f"selection_seeds and report_seeds must be disjoint: both have {shared} "
                             "(a seed that chose a setting cannot report it)")
        return self


class ModelSpec(_Block):
    """One configuration the grid trains: a column of the results table."""

    name: str
    recipe: str = "transformer"
    features: str = "transformer"
    head: str = "token"
    transformer: Optional[str] = None
    vectors: Optional[str] = None
    overrides: Dict[str, Any] = Field(default_factory=dict)
    phases: List[Phase] = Field(default_factory=lambda: ["select", "report"])
    train_on: Optional[List[str]] = None
    tuned: Optional[str] = None
    n_seeds: Optional[int] = Field(default=None, ge=1)
    datasets: Optional[List[str]] = None
    factors: Dict[str, str] = Field(default_factory=dict)

    @field_validator("recipe", "features", "head")
    @classmethod
    def _known_value(cls, value: str, info: ValidationInfo) -> str:
        allowed = {"recipe": RECIPES, "features": FEATURES, "head": HEADS}[info.field_name]
        if value not in allowed:
            raise ValueError(f"{info.field_name} must be one of {allowed}, not {value!r}")
        return value

    @field_validator("phases", "datasets", "train_on", mode="before")
    @classmethod
    def _list(cls, value: Any) -> Any:
        if isinstance(value, str) or (value is not None and not value):
            raise ValueError(f"must be a non-empty list, not {value!r}")
        return value

    @model_validator(mode="after")
    def _needs_transformer(self) -> "ModelSpec":
        if self.recipe == "transformer" and not self.transformer:
            raise ValueError("the transformer recipe needs `transformer` (a model directory)")
        return self

    def seeds(self, phase: str, seeds: Sequence[int]) -> List[int]:
        """This model's seeds of ``phase`` (``seeds``: the grid's seeds of that phase)."""
        if phase not in self.phases:
            return []
        return list(seeds)[: self.n_seeds] if self.n_seeds else list(seeds)

    def runs_on(self, dataset: str) -> bool:
        return self.datasets is None or dataset in self.datasets


class Decision(_Block):
    """``[decisions.<name>]``: one choice, made on the mean dev F1 of the selection seeds."""

    candidates: List[str] = Field(min_length=2)
    chosen: Optional[str] = None
    setting: str = ""


class Comparison(_Block):
    """``[comparisons.<name>]``: target − base, paired over (dataset, report seed)."""

    target: str
    base: str


class Effect(_Block):
    """``[effects.<name>]``: a factor's effect with the other factors held fixed, or an interaction."""

    factor: str
    target: str
    base: str
    within: Optional[str] = None
    within_target: Optional[str] = None
    within_base: Optional[str] = None

    @model_validator(mode="after")
    def _interaction(self) -> "Effect":
        given = [self.within_target is not None, self.within_base is not None]
        if self.within is None and any(given):
            raise ValueError("within_target/within_base need `within` (the second factor)")
        if self.within is not None and not all(given):
            raise ValueError("an interaction (`within`) needs within_target and within_base")
        return self


def run_name(model: str, dataset: str, seed: int) -> str:
    """``model/dataset/seed<k>``: how a run is named in records, logs and reports."""
    return f"{model}/{dataset}/seed{seed}"


def record_name(record: Dict[str, Any]) -> str:
    """The run name of a run record."""
    return run_name(record["model"], record["dataset"], record["seed"])


@dataclass(frozen=True)
class Run:
    """One training run of the grid."""

    model: ModelSpec
    dataset: str
    seed: int
    phase: str

    @property
    def key(self) -> str:
        return run_name(self.model.name, self.dataset, self.seed)

    @property
    def splits(self) -> Tuple[str, ...]:
        """The splits this run is scored on: a selection run never sees test."""
        return ("dev", "test") if self.phase == "report" else ("dev",)


@dataclass
class Grid:
    """The models × datasets × seeds to run, and what the report computes from them."""

    profile: str
    selection_seeds: List[int]
    report_seeds: List[int]
    datasets: List[str]
    models: Dict[str, ModelSpec]
    corpus: str = "corpus/ner"
    decisions: Optional[Dict[str, Decision]] = None
    comparisons: Optional[Dict[str, Comparison]] = None
    effects: Optional[Dict[str, Effect]] = None
    source: str = ""

    @property
    def seeds(self) -> List[int]:
        return list(self.selection_seeds) + list(self.report_seeds)

    def runs(self, models: Optional[Sequence[str]] = None, phases: Sequence[str] = PHASES) -> List[Run]:
        """Every run, phase by phase and seed-major (all models and datasets of a seed first)."""
        names = list(models) if models else list(self.models)
        unknown = [name for name in names if name not in self.models]
        if unknown:
            raise ValueError(f"unknown model(s) {unknown}: the grid has {list(self.models)}")
        runs: List[Run] = []
        for phase, seeds in (("select", self.selection_seeds), ("report", self.report_seeds)):
            if phase not in phases:
                continue
            for seed, name, dataset in itertools.product(seeds, names, self.datasets):
                spec = self.models[name]
                if spec.runs_on(dataset) and seed in spec.seeds(phase, seeds):
                    runs.append(Run(spec, dataset, seed, phase))
        return runs

    def data(self, dataset: str, split: str) -> Path:
        return Path(self.corpus) / dataset / f"{split}.spacy"


def _validate(model_cls: type, data: Dict[str, Any], source: str, block: str) -> Any:
    try:
        return validate_block(data, model_cls, source=source, section=block)
    except SettingsError as err:
        raise GridError(str(err), source=source, section=block, problems=err.problems) from None


def _blocks(config: Config, name: str) -> Dict[str, Dict[str, Any]]:
    section = config.get(name) or {}
    return {key: dict(value) for key, value in section.items()}


def load_grid(path: PathLike, overrides: Optional[Dict[str, Any]] = None) -> Grid:
    """Read and check a grid config (see the module docstring); ``overrides`` as
    ``{"results.datasets": ["e3c"]}``. Errors name the file, the block and the key."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no results grid {path}")
    source = str(path)
    try:
        config = Config().from_disk(path, overrides=overrides or {})
    except Exception as err:  # confection names the line
        raise GridError(f"{source}: cannot parse: {err}", source=source) from err
    unknown = sorted(set(config) - {"results", "models", "decisions", "comparisons", "effects"})
    if unknown:
        raise GridError(f"{source}: unknown block(s) {unknown} (known: results, models, decisions, "
                        "comparisons, effects)")
    if "results" not in config or not config.get("models"):
        raise GridError(f"{source}: a results grid needs [results] and at least one [models.<name>] block")
    results = _validate(ResultsBlock, dict(config["results"]), source, "results")
    models = {name: _validate(ModelSpec, {**block, "name": name}, source, f"models.{name}")
              for name, block in _blocks(config, "models").items()}
    decisions = {name: _validate(Decision, block, source, f"decisions.{name}")
                 for name, block in _blocks(config, "decisions").items()}
    comparisons = {name: _validate(Comparison, block, source, f"comparisons.{name}")
                   for name, block in _blocks(config, "comparisons").items()}
    effects = {name: _validate(Effect, block, source, f"effects.{name}")
               for name, block in _blocks(config, "effects").items()}
    # the file's own datasets (a --datasets override may narrow the grid)
    own = list(results.datasets)
    if overrides and "results.datasets" in overrides:
        own = list(Config().from_disk(path)["results"]["datasets"])
    for spec in models.values():
        for key in ("datasets", "train_on"):
            unknown_sets = sorted(set(getattr(spec, key) or ()) - set(own))
            if unknown_sets:
                raise GridError(f"{source}: [models.{spec.name}] {key}: {unknown_sets} are not in "
                                f"[results] datasets {own}")
    for name, decision in decisions.items():
        for candidate in decision.candidates + ([decision.chosen] if decision.chosen else []):
            if candidate not in models:
                raise GridError(f"{source}: [decisions.{name}] {candidate!r} is not a model of the grid")
            if "select" not in models[candidate].phases:
                raise GridError(f"{source}: [decisions.{name}] {candidate!r} does not run on the selection "
                                "seeds (its phases lack \"select\")")
        if decision.chosen and decision.chosen not in decision.candidates:
            raise GridError(f"{source}: [decisions.{name}] chosen {decision.chosen!r} is not a candidate")
    for name, comparison in comparisons.items():
        for role in ("target", "base"):
            model = getattr(comparison, role)
            if model not in models:
                raise GridError(f"{source}: [comparisons.{name}] {role} {model!r} is not a model of the grid")
            if "report" not in models[model].phases:
                raise GridError(f"{source}: [comparisons.{name}] {model!r} is not reported (its phases "
                                "lack \"report\")")
    for name, effect in effects.items():
        levels = {spec.factors.get(effect.factor) for spec in models.values() if "report" in spec.phases}
        for role in ("target", "base"):
            if getattr(effect, role) not in levels:
                raise GridError(f"{source}: [effects.{name}] no reported model has {effect.factor} = "
                                f"{getattr(effect, role)!r}")
    return Grid(profile=results.profile, selection_seeds=list(results.selection_seeds),
                report_seeds=list(results.report_seeds), datasets=list(results.datasets), models=models,
                corpus=results.corpus, decisions=decisions, comparisons=comparisons, effects=effects,
                source=source)


def tuned_values(spec: ModelSpec) -> Dict[str, Any]:
    """The best values of the model's ``tune`` record (``{}`` without one)."""
    if not spec.tuned:
        return {}
    import srsly

    path = Path(spec.tuned)
    if not path.is_file():
        raise FileNotFoundError(f"[models.{spec.name}] tuned = {spec.tuned!r}: no such tune record "
                                "(run `tune`, then copy its best.json there)")
    record = srsly.read_json(path)
    if "best_values" not in record:
        raise ValueError(f"{path}: not a tune record (no best_values)")
    return dict(record["best_values"])


def train_overrides(grid: Grid, run: Run, *, train_data: Optional[PathLike] = None) -> Dict[str, Any]:
    """The ``spacy_cbio train`` config overrides of ``run`` (``train_data``: a merged training
    DocBin for a model with ``train_on``)."""
    spec = run.model
    overrides: Dict[str, Any] = {
        "paths.train": str(train_data or grid.data(run.dataset, "train")),
        "paths.dev": str(grid.data(run.dataset, "dev")),
        "paths.vectors": spec.vectors,
        "system.seed": run.seed,
    }
    if spec.recipe == "transformer":
        overrides["paths.transformer"] = spec.transformer
        overrides["cbio.features"] = spec.features
    overrides.update(tuned_values(spec))
    overrides.update(spec.overrides)
    return overrides
