"""Temperature scaling of the entity scores, fitted on dev after training.

``cbio_token_ner`` scores an entity with the mean (or min) probability of its tokens' tags.
Those probabilities come from a softmax trained for tagging, and are overconfident as entity
scores (an expected calibration error of 0.20 to 0.38 on the small profile's dev sets). One
temperature ``T`` per pipeline rescales the tag probabilities to ``softmax(log(p) / T)`` (:func:`spacy_cbio.components.token_ner.temper`). It is fitted on the
dev set by minimising the log loss of the entity scores against strict correctness (same
label, same offsets), the standard recipe of Guo et al. (2017) applied at the entity level.
A positive ``T`` keeps every decoded tag, so the entities, and every F1, stay the same.

``train`` runs :func:`calibrate_model` on ``model-best`` (``--no-calibrate`` to skip); the
``calibrate`` command runs it on any pipeline folder.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Optional, Sequence, Tuple

import numpy
import srsly
from spacy.language import Language
from spacy.tokens import Doc, DocBin
from spacy.training.iob_utils import biluo_tags_to_spans, iob_to_biluo
from spacy.util import minibatch

from ..components.token_ner import TokenNER, temper
from ..evaluate.calibration import entity_keys, reliability
from ..evaluate.metrics import gold_token_doc

# Fewer predicted dev entities than this: too few to fit, the temperature stays 1.
MIN_ENTITIES = 20
BOUNDS = (0.05, 50.0)
EPS = 1e-6


@dataclass
class EntityProbs:
    """The tag probabilities of every predicted entity's tokens, and whether each entity is right.

    rows: ``[n_entity_tokens, n_tags]``, the entities' token rows one after the other;
    tag_ids: the decoded tag of each of those tokens; starts: where each entity's rows begin;
    correct: one bool per entity (strict match with a reference entity).
    """

    rows: numpy.ndarray
    tag_ids: numpy.ndarray
    starts: numpy.ndarray
    correct: numpy.ndarray

    def __len__(self) -> int:
        return len(self.correct)

    def scores(self, temperature: float, method: str = "mean") -> numpy.ndarray:
        """The entity scores (``span._.score``) at ``temperature``."""
        if not len(self):
            return numpy.zeros((0,), dtype="float64")
        chosen = temper(self.rows, temperature)[numpy.arange(len(self.tag_ids)), self.tag_ids].astype("float64")
        if method == "min":
            return numpy.minimum.reduceat(chosen, self.starts)
        lengths = numpy.diff(numpy.append(self.starts, len(chosen)))
        return numpy.add.reduceat(chosen, self.starts) / lengths


def token_ner_name(nlp: Language) -> Optional[str]:
    """The name of the pipeline's ``cbio_token_ner`` component, ``None`` without one."""
    names = [name for name, pipe in nlp.pipeline if isinstance(pipe, TokenNER)]
    return names[0] if names else None


def entity_probabilities(nlp: Language, references: Sequence[Doc], name: str, *, batch_size: int = 8) -> EntityProbs:
    """Run ``nlp`` up to ``name`` on the reference tokens and collect :class:`EntityProbs`."""
    ner: TokenNER = nlp.get_pipe(name)
    upstream = nlp.pipe_names[: nlp.pipe_names.index(name)]
    tags = ner.tags
    rows, ids, lengths, correct = [], [], [], []
    with nlp.select_pipes(enable=upstream):
        for batch in minibatch(references, batch_size):
            docs = list(nlp.pipe([gold_token_doc(nlp.vocab, ref) for ref in batch], batch_size=batch_size))
            for doc, ref, probs in zip(docs, batch, ner.predict(docs)):
                tag_ids, _ = ner.decode(probs)
                gold = entity_keys(ref)
                for span in biluo_tags_to_spans(doc, iob_to_biluo([tags[i] for i in tag_ids])):
                    rows.append(probs[span.start : span.end])
                    ids.append(tag_ids[span.start : span.end])
                    lengths.append(len(span))
                    correct.append((span.start_char, span.end_char, span.label_) in gold)
    n_tags = len(tags)
    starts = numpy.cumsum([0] + lengths[:-1]).astype("int64") if lengths else numpy.zeros((0,), dtype="int64")
    return EntityProbs(
        rows=numpy.concatenate(rows).astype("float32") if rows else numpy.zeros((0, n_tags), dtype="float32"),
        tag_ids=numpy.concatenate(ids).astype("int64") if ids else numpy.zeros((0,), dtype="int64"),
        starts=starts,
        correct=numpy.asarray(correct, dtype=bool),
    )


def log_loss(scores: numpy.ndarray, correct: numpy.ndarray) -> float:
    """Mean binary log loss of entity scores against correctness."""
    p = numpy.clip(scores, EPS, 1 - EPS)
    return float(-numpy.mean(numpy.where(correct, numpy.log(p), numpy.log1p(-p))))


def fit_temperature(probs: EntityProbs, method: str = "mean", bounds: Tuple[float, float] = BOUNDS) -> float:
    """The temperature in ``bounds`` that minimises :func:`log_loss` of the entity scores
    (bounded search over log T)."""
    from scipy.optimize import minimize_scalar

    if not len(probs):
        raise ValueError("no predicted entity to fit a temperature on")
    result = minimize_scalar(lambda log_t: log_loss(probs.scores(float(numpy.exp(log_t)), method), probs.correct),
                             bounds=tuple(numpy.log(bounds)), method="bounded", options={"xatol": 1e-3})
    return round(float(numpy.exp(result.x)), 4)


def summary(probs: EntityProbs, temperature: float, method: str) -> Dict[str, Any]:
    """Log loss and ECE (:func:`reliability`) of the entity scores at ``temperature``."""
    scores = probs.scores(temperature, method)
    table = reliability(list(zip(scores.tolist(), probs.correct.tolist())))
    return {"log_loss": round(log_loss(scores, probs.correct), 4), "ece": table["ece"] if table else None,
            "mean_score": table["mean_confidence"] if table else None}


def calibrate(nlp: Language, references: Sequence[Doc], *, batch_size: int = 8,
              min_entities: int = MIN_ENTITIES) -> Dict[str, Any]:
    """Fit and set the temperature of ``nlp``'s ``cbio_token_ner`` on ``references`` (gold docs).

    RETURNS a record: the temperature, the number of entities and share correct, and the log
    loss and ECE before (T = 1) and after. With fewer than ``min_entities`` predicted entities
    the temperature is set to 1 and the record says why. Raises ``ValueError`` without a
    ``cbio_token_ner`` component.
    """
    name = token_ner_name(nlp)
    if name is None:
        raise ValueError(f"no cbio_token_ner component in the pipeline ({', '.join(nlp.pipe_names)}): "
                         "only its entity scores can be calibrated")
    ner: TokenNER = nlp.get_pipe(name)
    method = ner.cfg["score_method"]
    probs = entity_probabilities(nlp, references, name, batch_size=batch_size)
    record: Dict[str, Any] = {"component": name, "method": "temperature scaling, entity log loss",
                              "score_method": method, "n_docs": len(references), "n_entities": len(probs),
                              "accuracy": round(float(probs.correct.mean()), 4) if len(probs) else None}
    if len(probs) < min_entities:
        ner.set_temperature(1.0)
        record.update(temperature=1.0, before=summary(probs, 1.0, method) if len(probs) else None, after=None,
                      skipped=f"{len(probs)} predicted entities, fewer than {min_entities}: temperature left at 1")
        return record
    temperature = fit_temperature(probs, method)
    ner.set_temperature(temperature)
    record.update(temperature=temperature, before=summary(probs, 1.0, method), after=summary(probs, temperature, method))
    return record


def calibrate_model(model_dir: Path, data: Path, *, batch_size: int = 8, min_entities: int = MIN_ENTITIES) -> Dict[str, Any]:
    """Fit the temperature of the pipeline in ``model_dir`` on the DocBin ``data`` and save it
    there (the component's ``cfg``; the weights are not rewritten); also written to
    ``model_dir/calibration.json``. RETURNS :func:`calibrate`'s record, with the data path."""
    import spacy

    model_dir, data = Path(model_dir), Path(data)
    if not data.is_file():
        raise FileNotFoundError(f"{data}: no such DocBin to calibrate on")
    nlp = spacy.load(model_dir)
    references = list(DocBin().from_disk(data).get_docs(nlp.vocab))
    record = calibrate(nlp, references, batch_size=batch_size, min_entities=min_entities)
    record["data"] = str(data)
    name = record["component"]
    nlp.get_pipe(name).to_disk(model_dir / name, exclude=["vocab", "model"])
    srsly.write_json(model_dir / "calibration.json", record)
    return record


def describe(record: Dict[str, Any]) -> str:
    """One line about a calibration record, for the console."""
    if record.get("skipped"):
        return f"Entity scores not calibrated: {record['skipped']}."
    before, after = record["before"], record["after"]
    return (f"Entity scores calibrated on {record['n_entities']} dev entities ({100 * record['accuracy']:.1f}% right): "
            f"temperature {record['temperature']:g}, ECE {before['ece']:.3f} -> {after['ece']:.3f}, "
            f"mean score {before['mean_score']:.3f} -> {after['mean_score']:.3f}.")


__all__ = ["EntityProbs", "MIN_ENTITIES", "calibrate", "calibrate_model", "describe", "entity_probabilities",
           "fit_temperature", "log_loss", "token_ner_name"]
