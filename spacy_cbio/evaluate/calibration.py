"""How far the entity confidences (``span._.score``) are from how often the entities are right.

Each predicted entity is *correct* when a reference entity has the same label and the same
character offsets (seqeval's strict match). Its confidence is ``span._.score``. The scores are
binned (equal-width bins over [0, 1]); the reliability table gives, per bin, the number of
entities, their mean confidence and the share of them that are correct; the expected
calibration error (ECE) is the mean of ``|accuracy - confidence|`` over the bins, weighted by
their counts. A calibrated pipeline has an ECE near 0: of its entities scored 0.9, about 90%
are right.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence, Set, Tuple

from spacy.tokens import Doc
from spacy.training import Example

N_BINS = 10


def entity_keys(doc: Doc) -> Set[Tuple[int, int, str]]:
    """``(start_char, end_char, label)`` of every entity of ``doc``: what a strict match compares."""
    return {(ent.start_char, ent.end_char, ent.label_) for ent in doc.ents}


def scored_entities(examples: Iterable[Example]) -> List[Tuple[float, bool]]:
    """``(span._.score, correct)`` for every predicted entity that has a score."""
    pairs: List[Tuple[float, bool]] = []
    for eg in examples:
        gold = entity_keys(eg.reference)
        for ent in eg.predicted.ents:
            score = getattr(ent._, "score", None) if ent.has_extension("score") else None
            if score is None:
                continue
            pairs.append((float(score), (ent.start_char, ent.end_char, ent.label_) in gold))
    return pairs


def uncalibrated_entities(examples: Iterable[Example]) -> List[Tuple[float, bool]]:
    """``(score before temperature scaling, correct)`` for every entity of a span group that keeps
    its ``attrs["uncalibrated_scores"]`` (``cbio_token_ner``'s); ``[]`` without such a group."""
    pairs: List[Tuple[float, bool]] = []
    for eg in examples:
        gold = entity_keys(eg.reference)
        for group in eg.predicted.spans.values():
            raw = group.attrs.get("uncalibrated_scores")
            if raw is None:
                continue
            pairs.extend((float(s), (span.start_char, span.end_char, span.label_) in gold) for span, s in zip(group, raw))
    return pairs


def reliability(pairs: Sequence[Tuple[float, bool]], n_bins: int = N_BINS) -> Optional[Dict[str, Any]]:
    """The reliability table and the ECE of ``(score, correct)`` pairs; ``None`` without pairs."""
    if not pairs:
        return None
    bins: List[Dict[str, Any]] = []
    ece = 0.0
    for b in range(n_bins):
        lo, hi = b / n_bins, (b + 1) / n_bins
        members = [(s, c) for s, c in pairs if lo <= s < hi or (b == n_bins - 1 and s == hi)]
        if not members:
            bins.append({"lo": lo, "hi": hi, "n": 0, "confidence": None, "accuracy": None})
            continue
        confidence = sum(s for s, _ in members) / len(members)
        accuracy = sum(1 for _, c in members if c) / len(members)
        ece += len(members) / len(pairs) * abs(accuracy - confidence)
        bins.append({"lo": lo, "hi": hi, "n": len(members), "confidence": round(confidence, 4),
                     "accuracy": round(accuracy, 4)})
    return {"ece": round(ece, 4), "n_entities": len(pairs),
            "mean_confidence": round(sum(s for s, _ in pairs) / len(pairs), 4),
            "accuracy": round(sum(1 for _, c in pairs if c) / len(pairs), 4), "bins": bins}


def calibration(examples: Iterable[Example], n_bins: int = N_BINS) -> Optional[Dict[str, Any]]:
    """:func:`reliability` of the predicted entities of ``examples`` (``None`` when no entity
    has a score, e.g. spaCy's ``ner``)."""
    return reliability(scored_entities(examples), n_bins)


def uncalibrated(examples: Iterable[Example], n_bins: int = N_BINS) -> Optional[Dict[str, Any]]:
    """:func:`reliability` of the entity scores before temperature scaling (``None`` without them)."""
    return reliability(uncalibrated_entities(examples), n_bins)


def plot_reliability(table: Optional[Dict[str, Any]], path: Path, title: str = "") -> Path:
    """A reliability diagram (accuracy against confidence per bin, the diagonal for reference);
    without a table (no scored entity), an empty diagram that says so."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    table = table or {"bins": [], "ece": None, "n_entities": 0}
    filled = [b for b in table["bins"] if b["n"]]
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=1, label="calibrated")
    width = filled[0]["hi"] - filled[0]["lo"] if filled else 0.1
    ax.bar([b["lo"] for b in filled], [b["accuracy"] for b in filled], width=width, align="edge",
           edgecolor="black", alpha=0.7, label="share correct")
    ax.plot([b["confidence"] for b in filled], [b["accuracy"] for b in filled], marker="o", color="black",
            linewidth=1, label="mean score")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("entity score (span._.score)")
    ax.set_ylabel("share of entities correct (strict)")
    if table["ece"] is None:
        ax.set_title(f"{title}: no scored entity".strip())
    else:
        ax.set_title(f"{title} ECE {table['ece']:.3f}, {table['n_entities']} entities".strip())
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


__all__ = ["N_BINS", "entity_keys", "scored_entities", "uncalibrated_entities", "reliability", "calibration", "uncalibrated",
           "plot_reliability"]
