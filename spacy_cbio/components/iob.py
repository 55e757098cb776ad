"""IOB2 tag set and constrained decoding for ``cbio_token_ner``.

Tags are ``"O"``, ``"B-<label>"`` and ``"I-<label>"`` (IOB2: every entity starts
with ``B-``). A sequence is *valid* when every ``I-X`` follows ``B-X`` or ``I-X``.
:func:`viterbi_decode` only ever returns valid sequences, whatever the scores.
Conversions between tags, BILUO and spans are spaCy's (``spacy.training.iob_utils``);
spaCy has no IOB2 tag-set builder, validity check or constrained decoder, hence these.
"""
from __future__ import annotations

from typing import Iterable, List, Optional, Sequence, Tuple

import numpy

OUTSIDE = "O"
NEG_INF = -1e30
# Floor for log-probabilities, so that the sum over any document stays far above
# NEG_INF: a forbidden transition can never win against an allowed path.
LOG_PROB_FLOOR = -1e4


def make_tags(labels: Iterable[str]) -> List[str]:
    """The IOB2 tag set of ``labels``: ``O`` first, then ``B-X``, ``I-X`` per label."""
    tags = [OUTSIDE]
    for label in labels:
        tags.extend((f"B-{label}", f"I-{label}"))
    return tags


def split_tag(tag: str) -> Tuple[str, Optional[str]]:
    """Split ``"B-DISO"`` into ``("B", "DISO")``; ``"O"`` gives ``("O", None)``."""
    if tag == OUTSIDE:
        return OUTSIDE, None
    prefix, sep, label = tag.partition("-")
    if not sep or prefix not in ("B", "I", "L", "U") or not label:
        raise ValueError(f"Not an IOB2/BILUO tag: {tag!r}")
    return prefix, label


def is_valid_iob2(tags: Sequence[str]) -> bool:
    """Whether every ``I-X`` follows ``B-X`` or ``I-X``."""
    previous: Optional[str] = None
    for tag in tags:
        prefix, label = split_tag(tag)
        if prefix == "I" and previous != label:
            return False
        if prefix not in ("B", "I", OUTSIDE):
            return False
        previous = label
    return True


def transition_constraints(tags: Sequence[str]) -> Tuple[numpy.ndarray, numpy.ndarray]:
    """Allowed first tags and allowed transitions of the IOB2 tag set.

    RETURNS: ``start`` (bool, ``[n_tags]``) and ``allowed`` (bool,
    ``[n_tags, n_tags]``, ``allowed[prev, next]``).
    """
    parsed = [split_tag(tag) for tag in tags]
    n = len(tags)
    start = numpy.array([prefix != "I" for prefix, _ in parsed], dtype=bool)
    allowed = numpy.ones((n, n), dtype=bool)
    for j, (prefix, label) in enumerate(parsed):
        if prefix == "I":
            for i, (_, prev_label) in enumerate(parsed):
                allowed[i, j] = prev_label == label
    return start, allowed


def viterbi_decode(
    log_probs: numpy.ndarray, start: numpy.ndarray, allowed: numpy.ndarray
) -> numpy.ndarray:
    """Best tag sequence under hard transition constraints.

    log_probs (``[n_tokens, n_tags]``): per-token log-probabilities (or any scores).
    start, allowed: from :func:`transition_constraints`.
    RETURNS (``[n_tokens]`` int): the tag ids of the highest-scoring valid path.
    """
    log_probs = numpy.asarray(log_probs, dtype="float64")
    n_tokens, n_tags = log_probs.shape
    if n_tokens == 0:
        return numpy.zeros((0,), dtype="int64")
    # Clamp -inf/NaN so that an allowed path always has a finite score.
    log_probs = numpy.nan_to_num(log_probs, nan=LOG_PROB_FLOOR, neginf=LOG_PROB_FLOOR, posinf=0.0)
    log_probs = numpy.clip(log_probs, LOG_PROB_FLOOR, -LOG_PROB_FLOOR)
    penalty = numpy.where(allowed, 0.0, NEG_INF)
    score = log_probs[0] + numpy.where(start, 0.0, NEG_INF)
    backpointers = numpy.zeros((n_tokens, n_tags), dtype="int64")
    for t in range(1, n_tokens):
        candidates = score[:, None] + penalty
        backpointers[t] = candidates.argmax(axis=0)
        score = candidates.max(axis=0) + log_probs[t]
    path = numpy.zeros((n_tokens,), dtype="int64")
    path[-1] = int(score.argmax())
    for t in range(n_tokens - 1, 0, -1):
        path[t - 1] = backpointers[t, path[t]]
    return path


def argmax_if_valid(
    scores: numpy.ndarray, start: numpy.ndarray, allowed: numpy.ndarray
) -> Optional[numpy.ndarray]:
    """The per-token argmax of ``scores`` (``[n_tokens, n_tags]``) when it is a valid path under
    ``start`` and ``allowed`` (:func:`transition_constraints`), else ``None``.

    Each token's best tag maximises the path score term by term, so a valid argmax is also what
    :func:`viterbi_decode` returns (with monotone scores such as probabilities or their logs),
    without its loop over the tokens. Scores with NaN give ``None``.
    """
    scores = numpy.asarray(scores)
    if scores.shape[0] == 0 or not numpy.isfinite(scores).all():
        return None
    best = scores.argmax(axis=1)
    if not start[best[0]] or not allowed[best[:-1], best[1:]].all():
        return None
    return best.astype("int64")
