"""IOB2 tag set and constrained decoding (the conversions are spaCy's iob_utils)."""
import itertools

import numpy
import pytest

from spacy_cbio.components.iob import argmax_if_valid, is_valid_iob2, make_tags, transition_constraints, viterbi_decode

TAGS = make_tags(["CHEM", "DISO"])


def test_make_tags_order():
    assert TAGS == ["O", "B-CHEM", "I-CHEM", "B-DISO", "I-DISO"]


@pytest.mark.parametrize(
    "tags,valid",
    [
        ([], True),
        (["O", "B-A", "I-A", "B-A", "O", "B-B"], True),
        (["I-A"], False),  # an entity opened by I-
        (["O", "I-A"], False),
        (["B-A", "I-B"], False),  # I- of another type
        (["U-A"], False),  # BILUO is not IOB2
    ],
)
def test_is_valid_iob2(tags, valid):
    assert is_valid_iob2(tags) is valid


def test_transition_constraints():
    start, allowed = transition_constraints(TAGS)
    assert list(start) == [True, True, False, True, False]
    i_chem, b_chem, b_diso = TAGS.index("I-CHEM"), TAGS.index("B-CHEM"), TAGS.index("B-DISO")
    assert allowed[b_chem, i_chem] and allowed[i_chem, i_chem]
    assert not allowed[b_diso, i_chem] and not allowed[TAGS.index("O"), i_chem]
    assert allowed[:, b_diso].all() and allowed[:, TAGS.index("O")].all()


def _brute_force(log_probs, tags):
    best, best_path = -numpy.inf, None
    for path in itertools.product(range(len(tags)), repeat=log_probs.shape[0]):
        if not is_valid_iob2([tags[i] for i in path]):
            continue
        score = sum(log_probs[t, i] for t, i in enumerate(path))
        if score > best:
            best, best_path = score, path
    return list(best_path)


def test_viterbi_matches_brute_force():
    rng = numpy.random.default_rng(0)
    start, allowed = transition_constraints(TAGS)
    for _ in range(30):
        log_probs = numpy.log(rng.dirichlet(numpy.ones(len(TAGS)), size=4))
        assert list(viterbi_decode(log_probs, start, allowed)) == _brute_force(log_probs, TAGS)


@pytest.mark.parametrize("seed", range(5))
def test_viterbi_never_emits_invalid_sequences(seed):
    """Adversarial scores: I- tags get almost all the mass, ties, zeros, -inf, NaN."""
    rng = numpy.random.default_rng(seed)
    start, allowed = transition_constraints(TAGS)
    n = 200
    probs = rng.random((n, len(TAGS))) * 1e-3
    inside = [i for i, t in enumerate(TAGS) if t.startswith("I-")]
    probs[numpy.arange(n), rng.choice(inside, size=n)] = 1.0  # argmax is always an I- tag
    probs /= probs.sum(axis=1, keepdims=True)
    log_probs = numpy.log(probs)
    log_probs[5] = -numpy.inf  # a token with zero probability everywhere
    log_probs[6, 0] = numpy.nan
    log_probs[7] = 0.0  # ties
    path = viterbi_decode(log_probs, start, allowed)
    assert len(path) == n
    assert is_valid_iob2([TAGS[i] for i in path])
    # Greedy argmax would have been invalid: the constraint did change something.
    assert not is_valid_iob2([TAGS[i] for i in numpy.argmax(numpy.nan_to_num(log_probs, nan=-1e9), axis=1)])


def test_viterbi_prefers_b_then_i_over_invalid_i():
    start, allowed = transition_constraints(TAGS)
    probs = numpy.array([[0.1, 0.05, 0.0, 0.35, 0.5], [0.1, 0.0, 0.0, 0.1, 0.8]])
    path = viterbi_decode(numpy.log(probs + 1e-12), start, allowed)
    assert [TAGS[i] for i in path] == ["B-DISO", "I-DISO"]


def test_viterbi_empty():
    start, allowed = transition_constraints(TAGS)
    assert viterbi_decode(numpy.zeros((0, len(TAGS))), start, allowed).shape == (0,)


def _peaked(rng, n, tags, valid):
    """Probabilities whose argmax path is valid IOB2 (or, with ``valid=False``, is not)."""
    probs = rng.dirichlet(numpy.ones(len(tags)), size=n)
    while True:
        path = [0]
        for _ in range(n - 1):
            prev = tags[path[-1]]
            choices = [i for i, t in enumerate(tags) if not t.startswith("I-") or t[2:] == prev[2:]]
            path.append(int(rng.choice(choices)))
        if not valid:
            path[int(rng.integers(0, n))] = tags.index("I-CHEM")
            if is_valid_iob2([tags[i] for i in path]):
                continue
        probs[numpy.arange(n), path] += 2.0  # the argmax everywhere
        return probs / probs.sum(axis=1, keepdims=True), path


@pytest.mark.parametrize("valid", [True, False])
def test_argmax_if_valid_agrees_with_viterbi(valid):
    """A valid argmax is Viterbi's answer; an invalid one is refused (Viterbi decides)."""
    rng = numpy.random.default_rng(1)
    start, allowed = transition_constraints(TAGS)
    for _ in range(50):
        probs, path = _peaked(rng, int(rng.integers(1, 30)), TAGS, valid)
        viterbi = viterbi_decode(numpy.log(probs), start, allowed)
        fast = argmax_if_valid(probs, start, allowed)
        if valid:
            assert list(fast) == list(viterbi) == path
        else:
            assert fast is None and is_valid_iob2([TAGS[i] for i in viterbi])


def test_argmax_if_valid_refuses_nan_and_empty():
    start, allowed = transition_constraints(TAGS)
    probs = numpy.full((3, len(TAGS)), 0.2)
    probs[1, 2] = numpy.nan
    assert argmax_if_valid(probs, start, allowed) is None
    assert argmax_if_valid(numpy.zeros((0, len(TAGS))), start, allowed) is None
