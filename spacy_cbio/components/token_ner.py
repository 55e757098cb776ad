"""``cbio_token_ner``: NER as IOB2 token classification (transformer + linear layer).

Modelled on spaCy's ``tagger``, with its model (``spacy.Tagger.v2`` with
``normalize = true``: a zero-initialised linear layer + softmax over a tok2vec, giving
probabilities at inference too) over the IOB2 tags ``O``, ``B-X``, ``I-X``; the
component decodes them with a constrained Viterbi search (never an ``I-X`` that
does not continue an ``X`` entity), sets ``doc.ents`` and a span group
``doc.spans[spans_key]`` whose ``attrs["scores"]`` hold one confidence per entity.
The same confidence is on ``span._.score``.

Entity confidence (``score_method``): ``"mean"`` (default) or ``"min"`` of the
probabilities of the decoded tags of the entity's tokens, after temperature scaling: the
tag probabilities ``p`` become ``softmax(log(p) / T)``, with ``T`` (``cfg["temperature"]``,
1.0 until fitted) fitted on dev after training (:mod:`spacy_cbio.train.calibrate`). A
positive ``T`` changes no decoded tag, so the entities and their F1 stay the same; only the
scores move. The unscaled scores stay in ``doc.spans[spans_key].attrs["uncalibrated_scores"]``.
"""
from __future__ import annotations

from itertools import islice
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Tuple

import numpy
from spacy.language import Language
from spacy.pipeline import TrainablePipe
from spacy.tokens import Doc, Span, SpanGroup
from spacy.training import Example, validate_examples, validate_get_examples
from spacy.training.iob_utils import biluo_tags_to_spans, biluo_to_iob, iob_to_biluo
from spacy.vocab import Vocab
from thinc.api import Config, Model, SequenceCategoricalCrossentropy, set_dropout_rate
from thinc.types import Floats2d

from .iob import argmax_if_valid, make_tags, transition_constraints, viterbi_decode
from .scorer import score_seqeval

DEFAULT_SPANS_KEY = "cbio_ents"
SCORE_METHODS = ("mean", "min")
LOG_EPS = 1e-12

default_model_config = """
[model]
@architectures = "spacy.Tagger.v2"
nO = null
normalize = true

[model.tok2vec]
@architectures = "spacy-transformers.TransformerListener.v1"
grad_factor = 1.0
upstream = "*"

[model.tok2vec.pooling]
@layers = "reduce_mean.v1"
"""
DEFAULT_MODEL = Config().from_str(default_model_config)["model"]

if not Span.has_extension("score"):
    Span.set_extension("score", default=None)


def check_temperature(temperature: float) -> float:
    """``temperature`` as a float; ``ValueError`` unless it is a positive, finite number."""
    if not temperature > 0 or not numpy.isfinite(temperature):
        raise ValueError(f"temperature must be a positive number, not {temperature!r}")
    return float(temperature)


def temper(probs: numpy.ndarray, temperature: float) -> numpy.ndarray:
    """Temperature-scaled probabilities ``softmax(log(probs) / temperature)`` per row (``[n, n_tags]``);
    ``probs`` itself at temperature 1."""
    check_temperature(temperature)
    if temperature == 1.0:
        return probs
    logits = numpy.log(numpy.asarray(probs, dtype="float64") + LOG_EPS) / temperature
    logits -= logits.max(axis=1, keepdims=True)
    scaled = numpy.exp(logits)
    return (scaled / scaled.sum(axis=1, keepdims=True)).astype("float32")


@Language.factory(
    "cbio_token_ner",
    assigns=["doc.ents", "token.ent_iob", "token.ent_type", "doc.spans"],
    default_config={
        "model": DEFAULT_MODEL,
        "spans_key": DEFAULT_SPANS_KEY,
        "overwrite_ents": True,
        "score_method": "mean",
        "scorer": {"@scorers": "spacy_cbio.seqeval_scorer.v1"},
    },
    default_score_weights={"ents_f": 1.0, "ents_p": 0.0, "ents_r": 0.0, "ents_per_type": None},
)
def make_token_ner(
    nlp: Language,
    name: str,
    model: Model[List[Doc], List[Floats2d]],
    spans_key: str,
    overwrite_ents: bool,
    score_method: str,
    scorer: Optional[Callable],
) -> "TokenNER":
    """Create a ``cbio_token_ner`` component (see :class:`TokenNER`)."""
    return TokenNER(
        nlp.vocab,
        model,
        name,
        spans_key=spans_key,
        overwrite_ents=overwrite_ents,
        score_method=score_method,
        scorer=scorer,
    )


class TokenNER(TrainablePipe):
    """Named entities from IOB2 token classification, decoded under IOB2 constraints."""

    def __init__(
        self,
        vocab: Vocab,
        model: Model[List[Doc], List[Floats2d]],
        name: str = "ner",
        *,
        spans_key: str = DEFAULT_SPANS_KEY,
        overwrite_ents: bool = True,
        score_method: str = "mean",
        scorer: Optional[Callable] = None,
    ) -> None:
        """Initialize the component.

        vocab: the shared vocabulary. model: probabilities over :attr:`tags` per token, with
        an ``output_layer`` ref (``spacy.Tagger.v2`` with ``normalize = true``).
        name: the component name (key of its loss). spans_key: the span group
        to write (``None``/``""`` to write none). overwrite_ents: replace existing
        ``doc.ents`` (else keep them and add only non-overlapping predictions).
        score_method: ``"mean"`` or ``"min"`` tag probability per entity.
        scorer: scores ``doc.ents`` (default: seqeval strict IOB2).
        """
        if score_method not in SCORE_METHODS:
            raise ValueError(f"score_method must be one of {SCORE_METHODS}, not {score_method!r}")
        self.vocab = vocab
        self.model = model
        self.name = name
        self._rehearsal_model = None
        self.cfg = {
            "labels": [],
            "overwrite_ents": overwrite_ents,
            "score_method": score_method,
            "spans_key": spans_key,
            "temperature": 1.0,
        }
        self.scorer = score_seqeval if scorer is None else scorer
        self._constraints: Optional[Tuple[Tuple[str, ...], numpy.ndarray, numpy.ndarray]] = None

    # -- labels -----------------------------------------------------------
    @property
    def labels(self) -> Tuple[str, ...]:
        """The entity labels (without IOB prefixes)."""
        return tuple(self.cfg["labels"])

    @property
    def label_data(self) -> Tuple[str, ...]:
        """Data about the labels, for ``spacy init labels``."""
        return self.labels

    @property
    def tags(self) -> Tuple[str, ...]:
        """The IOB2 tags predicted by the model: ``O`` then ``B-X``, ``I-X`` per label."""
        return tuple(make_tags(self.labels))

    @property
    def temperature(self) -> float:
        """The temperature of the entity scores (1.0: the head's own probabilities)."""
        return float(self.cfg.get("temperature", 1.0))  # pipelines saved before it existed: 1.0

    def set_temperature(self, temperature: float) -> None:
        """Set the temperature of the entity scores (see :func:`temper`); decoding does not change."""
        self.cfg["temperature"] = check_temperature(temperature)

    def add_label(self, label: str) -> int:
        """Add an entity label. RETURNS 0 if it was present, else 1."""
        if not isinstance(label, str) or not label or label == "O":
            raise ValueError(f"Entity labels must be non-empty strings other than 'O', not {label!r}")
        if label in self.labels:
            return 0
        self._allow_extra_label()
        self.cfg["labels"].append(label)
        self.vocab.strings.add(label)
        self._constraints = None
        return 1

    def _allow_extra_label(self) -> None:
        output_layer = self.model.get_ref("output_layer")
        if output_layer.has_dim("nO"):
            raise ValueError(
                f"Cannot add a label to '{self.name}': its output layer is already sized "
                f"({output_layer.get_dim('nO')} tags); add labels before initialization."
            )

    def _get_constraints(self) -> Tuple[numpy.ndarray, numpy.ndarray]:
        tags = self.tags
        if self._constraints is None or self._constraints[0] != tags:
            start, allowed = transition_constraints(tags)
            self._constraints = (tags, start, allowed)
        return self._constraints[1], self._constraints[2]

    # -- prediction -------------------------------------------------------
    def predict(self, docs: Iterable[Doc]) -> List[numpy.ndarray]:
        """Tag probabilities (``[n_tokens, n_tags]``, numpy) for each doc, unmodified docs."""
        docs = list(docs)
        n_tags = len(self.tags)
        if not any(len(doc) for doc in docs):
            return [numpy.zeros((0, n_tags), dtype="float32") for _ in docs]
        scores = self.model.predict(docs)
        assert len(scores) == len(docs), (len(scores), len(docs))
        return [self.model.ops.to_numpy(s) for s in scores]

    def decode(self, probs: numpy.ndarray) -> Tuple[numpy.ndarray, numpy.ndarray]:
        """Best valid IOB2 tag ids for one doc, and the probability of each chosen tag.

        The per-token argmax when it is already valid IOB2 (then it is also the best valid
        path), else the constrained Viterbi path."""
        if probs.shape[0] == 0:
            return numpy.zeros((0,), dtype="int64"), numpy.zeros((0,), dtype="float32")
        start, allowed = self._get_constraints()
        tag_ids = argmax_if_valid(probs, start, allowed)
        if tag_ids is None:
            tag_ids = viterbi_decode(numpy.log(probs + LOG_EPS), start, allowed)
        return tag_ids, probs[numpy.arange(len(tag_ids)), tag_ids]

    def set_annotations(self, docs: Iterable[Doc], scores: Sequence[numpy.ndarray]) -> None:
        """Set ``doc.ents``, ``doc.spans[spans_key]`` and ``span._.score`` from ``predict``'s output."""
        tags = self.tags
        reduce = numpy.min if self.cfg["score_method"] == "min" else numpy.mean
        spans_key = self.cfg["spans_key"]
        temperature = self.temperature
        for doc, probs in zip(docs, scores):
            tag_ids, tag_probs = self.decode(probs)
            # decode() returns valid IOB2 only, which iob_to_biluo reads as seqeval strict does.
            predicted = biluo_tags_to_spans(doc, iob_to_biluo([tags[i] for i in tag_ids]))
            raw = [float(reduce(tag_probs[span.start : span.end])) for span in predicted]
            if temperature == 1.0 or not predicted:
                confidences = raw
            else:
                scaled = temper(probs, temperature)[numpy.arange(len(tag_ids)), tag_ids]
                confidences = [float(reduce(scaled[span.start : span.end])) for span in predicted]
            if self.cfg["overwrite_ents"]:
                doc.ents = predicted
            else:
                kept = list(doc.ents)
                taken = numpy.zeros((len(doc),), dtype=bool)
                for ent in kept:
                    taken[ent.start : ent.end] = True
                added = [s for s in predicted if not taken[s.start : s.end].any()]
                doc.ents = sorted(kept + added, key=lambda s: s.start)
            for span, confidence in zip(predicted, confidences):
                span._.score = confidence
            if spans_key:
                group = SpanGroup(doc, name=spans_key, spans=predicted)
                group.attrs["scores"] = numpy.asarray(confidences, dtype="float32")
                group.attrs["uncalibrated_scores"] = numpy.asarray(raw, dtype="float32")
                doc.spans[spans_key] = group

    # -- training ---------------------------------------------------------
    def update(
        self,
        examples: Iterable[Example],
        *,
        drop: float = 0.0,
        sgd=None,
        losses: Optional[Dict[str, float]] = None,
    ) -> Dict[str, float]:
        """Learn from a batch of examples; returns the updated ``losses``."""
        if losses is None:
            losses = {}
        losses.setdefault(self.name, 0.0)
        examples = list(examples)
        validate_examples(examples, "TokenNER.update")
        if not any(len(eg.predicted) for eg in examples):
            return losses
        set_dropout_rate(self.model, drop)
        scores, backprop = self.model.begin_update([eg.predicted for eg in examples])
        for s in scores:
            if self.model.ops.xp.isnan(s.sum()):
                raise ValueError(f"NaN in the scores of '{self.name}'")
        loss, d_scores = self.get_loss(examples, scores)
        backprop(d_scores)
        if sgd not in (None, False):
            self.finish_update(sgd)
        losses[self.name] += loss
        return losses

    def gold_tags(self, example: Example) -> List[Optional[str]]:
        """IOB2 gold tags aligned to ``example.predicted``; ``None`` where missing/misaligned."""
        return biluo_to_iob(example.get_aligned_ner())

    def get_loss(self, examples: Iterable[Example], scores: List[Floats2d]) -> Tuple[float, List[Floats2d]]:
        """Categorical cross-entropy against the aligned IOB2 gold; missing tags get no gradient."""
        examples = list(examples)
        validate_examples(examples, "TokenNER.get_loss")
        loss_func = SequenceCategoricalCrossentropy(names=self.tags, normalize=False, missing_value=None)
        truths = [self.gold_tags(eg) for eg in examples]
        d_scores, loss = loss_func(scores, truths)
        if self.model.ops.xp.isnan(loss):
            raise ValueError(f"NaN loss in '{self.name}'")
        return float(loss), d_scores

    def initialize(
        self,
        get_examples: Callable[[], Iterable[Example]],
        *,
        nlp: Optional[Language] = None,
        labels: Optional[Iterable[str]] = None,
    ) -> None:
        """Add the labels (given, or those of ``example.reference.ents``) and initialize the model."""
        validate_get_examples(get_examples, "TokenNER.initialize")
        if labels is None:
            found = {ent.label_ for eg in get_examples() for ent in eg.reference.ents}
            labels = sorted(found)
        for label in labels:
            self.add_label(label)
        self._require_labels()
        doc_sample = []
        label_sample = []
        tags = self.tags
        for example in islice(get_examples(), 10):
            doc_sample.append(example.x)
            gold = self.gold_tags(example)
            rows = [[1.0 if tag == g else 0.0 for tag in tags] for g in gold]
            label_sample.append(self.model.ops.asarray2f(rows, dtype="float32").reshape((-1, len(tags))))
        if not doc_sample:
            raise ValueError(f"'{self.name}' needs at least one example to initialize")
        output_layer = self.model.get_ref("output_layer")
        if not output_layer.has_dim("nO"):
            output_layer.set_dim("nO", len(tags))
        self.model.initialize(X=doc_sample, Y=label_sample)

    def _require_labels(self) -> None:
        if not self.labels:
            raise ValueError(f"'{self.name}' has no labels: no entities in the training examples?")

    # -- serialization: labels live in cfg, restored before the weights ----
    def from_bytes(self, bytes_data: bytes, *, exclude: Iterable[str] = tuple()) -> "TokenNER":
        """Load the component (labels, then weights) from bytes."""
        self._constraints = None
        return super().from_bytes(bytes_data, exclude=exclude)

    def from_disk(self, path, *, exclude: Iterable[str] = tuple()) -> "TokenNER":
        """Load the component (labels, then weights) from a directory."""
        self._constraints = None
        return super().from_disk(path, exclude=exclude)


__all__ = ["TokenNER", "make_token_ner", "temper", "DEFAULT_SPANS_KEY"]
