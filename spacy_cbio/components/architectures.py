"""Model architectures: a linear (softmax) token classifier over a tok2vec layer."""
from __future__ import annotations

from typing import List, Optional

from spacy.tokens import Doc
from spacy.util import registry
from thinc.api import Model, Softmax_v2, chain, glorot_uniform_init, with_array, zero_init
from thinc.types import Floats2d


@registry.architectures("spacy_cbio.TokenClassifier.v1")
def build_token_classifier(
    tok2vec: Model[List[Doc], List[Floats2d]],
    nO: Optional[int] = None,
    init_W: str = "zero",
) -> Model[List[Doc], List[Floats2d]]:
    """Token classification: ``tok2vec`` then one linear layer + softmax over tags.

    tok2vec: token vectors, e.g. a ``spacy-transformers.TransformerListener.v1``.
    nO: the number of tags; inferred at initialization when ``None``.
    init_W: ``"zero"`` (spaCy's tagger) or ``"glorot"`` initialization of the weights.
    The output always holds probabilities (``normalize_outputs=True``), also at
    inference, because the component decodes and scores entities from them.
    """
    if init_W not in ("zero", "glorot"):
        raise ValueError(f"init_W must be 'zero' or 'glorot', not {init_W!r}")
    t2v_width = tok2vec.get_dim("nO") if tok2vec.has_dim("nO") else None
    output_layer = Softmax_v2(
        nO,
        t2v_width,
        init_W=zero_init if init_W == "zero" else glorot_uniform_init,
        normalize_outputs=True,
    )
    model: Model[List[Doc], List[Floats2d]] = chain(tok2vec, with_array(output_layer))
    model.set_ref("tok2vec", tok2vec)
    model.set_ref("output_layer", output_layer)
    return model
