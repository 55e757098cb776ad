"""The NER scorer: seqeval strict mode, IOB2, over ``doc.ents`` (``spacy_cbio.seqeval_scorer.v1``).

Kept beside the component that uses it by default, as spaCy keeps ``tagger_score``
next to the tagger. Gold and predicted entities are both written as IOB2 tag
sequences over the *reference* tokens, then scored with ``seqeval``
(``mode="strict"``, ``scheme=IOB2``), which is how the CamemBERT-bio paper reports
NER results. Predicted entities whose boundaries fall inside reference tokens are
expanded to the covering reference tokens (and counted), never dropped: unlike spaCy's ``Scorer.score_spans``, which drops them, and
``spacy.ner_scorer.v1``, which counts a second prediction on the same gold span
as a false positive.
"""
from __future__ import annotations

from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

from seqeval.metrics import classification_report
from seqeval.metrics.sequence_labeling import get_entities
from seqeval.scheme import IOB2, Entities
from spacy.tokens import Doc, Span
from spacy.training import Example
from spacy.training.iob_utils import biluo_to_iob, offsets_to_biluo_tags
from spacy.util import registry

MODES = ("strict", "default")


def doc_ents_iob2(doc: Doc, ents: Optional[Iterable[Span]] = None) -> List[str]:
    """IOB2 tags of ``ents`` (default ``doc.ents``; non-overlapping spans of ``doc``)."""
    offsets = [(ent.start_char, ent.end_char, ent.label_) for ent in (doc.ents if ents is None else ents)]
    return biluo_to_iob(offsets_to_biluo_tags(doc, offsets))


def aligned_iob2(example: Example) -> Tuple[List[str], List[str], int]:
    """Gold and predicted IOB2 tags over the reference tokens of ``example``.

    RETURNS: ``(gold_tags, pred_tags, n_expanded)``; ``n_expanded`` counts the
    predicted entities whose character offsets were widened to reference token
    boundaries (an entity overlapping an earlier one after widening is dropped
    and counted too).
    """
    reference = example.reference
    gold = doc_ents_iob2(reference)
    spans: List[Span] = []
    taken = [False] * len(reference)
    n_expanded = 0
    for ent in example.predicted.ents:
        span = reference.char_span(ent.start_char, ent.end_char, alignment_mode="expand")
        if span is None or len(span) == 0:
            n_expanded += 1
            continue
        if span.start_char != ent.start_char or span.end_char != ent.end_char:
            n_expanded += 1
        if any(taken[span.start : span.end]):
            n_expanded += 1
            continue
        taken[span.start : span.end] = [True] * len(span)
        spans.append(Span(reference, span.start, span.end, label=ent.label_))
    return gold, doc_ents_iob2(reference, spans), n_expanded


def _entity_sets(sequences: Sequence[Sequence[str]], mode: str) -> set:
    """Entities as ``(sequence, label, start, end)`` tuples, read as seqeval reads them."""
    if mode == "strict":
        per_sequence = Entities([list(s) for s in sequences], IOB2).entities
        return {entity.to_tuple() for entities in per_sequence for entity in entities}
    found = set()
    for i, seq in enumerate(sequences):
        for label, start, end in get_entities(list(seq)):
            found.add((i, label, start, end + 1))
    return found


def seqeval_report(
    y_true: Sequence[Sequence[str]], y_pred: Sequence[Sequence[str]], mode: str = "strict"
) -> Dict[str, Any]:
    """seqeval micro/macro P/R/F, per-type scores and entity counts.

    mode: ``"strict"`` (IOB2 scheme, the paper's metric) or ``"default"``
    (conlleval-style chunking, for comparison).
    RETURNS (dict): ``micro`` and ``macro`` (``p``, ``r``, ``f``), ``per_type``
    (``p``, ``r``, ``f``, ``support``, ``n_pred``, ``n_correct``) and ``counts``
    (``n_gold``, ``n_pred``, ``n_correct``, ``n_sequences``, ``n_tokens``).
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
    y_true = [list(s) for s in y_true]
    y_pred = [list(s) for s in y_pred]
    if len(y_true) != len(y_pred) or any(len(a) != len(b) for a, b in zip(y_true, y_pred)):
        raise ValueError("y_true and y_pred must have the same number of sequences and tokens")
    kwargs: Dict[str, Any] = {"output_dict": True, "zero_division": 0}
    if mode == "strict":
        kwargs.update(mode="strict", scheme=IOB2)
    gold_set = _entity_sets(y_true, mode)
    pred_set = _entity_sets(y_pred, mode)
    correct = gold_set & pred_set
    report = classification_report(y_true, y_pred, **kwargs) if gold_set or pred_set else {}
    per_type: Dict[str, Dict[str, float]] = {}
    for key, row in report.items():
        if key.endswith(" avg"):
            continue
        per_type[key] = {
            "p": float(row["precision"]),
            "r": float(row["recall"]),
            "f": float(row["f1-score"]),
            "support": int(row["support"]),
            "n_pred": sum(1 for e in pred_set if e[1] == key),
            "n_correct": sum(1 for e in correct if e[1] == key),
        }

    def avg(name: str) -> Dict[str, float]:
        row = report.get(name, {"precision": 0.0, "recall": 0.0, "f1-score": 0.0})
        return {"p": float(row["precision"]), "r": float(row["recall"]), "f": float(row["f1-score"])}

    return {
        "mode": mode,
        "scheme": "IOB2" if mode == "strict" else None,
        "micro": avg("micro avg"),
        "macro": avg("macro avg"),
        "per_type": dict(sorted(per_type.items())),
        "counts": {
            "n_gold": len(gold_set),
            "n_pred": len(pred_set),
            "n_correct": len(correct),
            "n_sequences": len(y_true),
            "n_tokens": sum(len(s) for s in y_true),
        },
    }


def examples_iob2(examples: Iterable[Example]) -> Tuple[List[List[str]], List[List[str]], int]:
    """Gold and predicted IOB2 sequences of the examples that have gold NER annotation."""
    y_true: List[List[str]] = []
    y_pred: List[List[str]] = []
    n_expanded = 0
    for example in examples:
        if not example.reference.has_annotation("ENT_IOB"):
            continue
        gold, pred, expanded = aligned_iob2(example)
        y_true.append(gold)
        y_pred.append(pred)
        n_expanded += expanded
    return y_true, y_pred, n_expanded


def score_seqeval(examples: Iterable[Example], **kwargs: Any) -> Dict[str, Any]:
    """Score ``doc.ents`` with seqeval strict IOB2: ``ents_p``, ``ents_r``, ``ents_f``, ``ents_per_type``.

    Micro averages, as spaCy's ``ents_*`` keys, so that the training loop picks
    them up through ``score_weights``. Scores are ``None`` when there is neither
    a gold nor a predicted entity (as spaCy does). Extra ``kwargs`` are ignored.
    """
    y_true, y_pred, n_expanded = examples_iob2(examples)
    report = seqeval_report(y_true, y_pred, mode="strict")
    scores: Dict[str, Any] = {"ents_p": None, "ents_r": None, "ents_f": None, "ents_per_type": None}
    if report["counts"]["n_gold"] or report["counts"]["n_pred"]:
        scores["ents_p"] = report["micro"]["p"]
        scores["ents_r"] = report["micro"]["r"]
        scores["ents_f"] = report["micro"]["f"]
        scores["ents_per_type"] = {
            label: {"p": row["p"], "r": row["r"], "f": row["f"]}
            for label, row in report["per_type"].items()
        }
    return scores


@registry.scorers("spacy_cbio.seqeval_scorer.v1")
def make_seqeval_scorer():
    """The seqeval strict IOB2 scorer of ``doc.ents`` (see :func:`score_seqeval`)."""
    return score_seqeval
