"""Token features for the NER head: the transformer alone, or stacked with static vectors.

``spacy_cbio.StackedFeatures.v1`` concatenates, per token, the vectors of the
transformer listener with those of a spaCy ``Tok2Vec`` (hash embeddings of
NORM/PREFIX/SUFFIX/SHAPE plus the pipeline's static vectors, then a window
encoder). This is how biomedical NER systems built at small compute (HunFlair,
Flair's stacked embeddings) combine cheap in-domain word vectors with
contextual ones; here the static vectors are floret vectors trained on the
biomedical corpus (``vectors`` stage).
"""
from __future__ import annotations

from typing import List, Optional

from spacy.tokens import Doc
from spacy.util import registry
from thinc.api import Model, concatenate
from thinc.types import Floats2d


@registry.architectures("spacy_cbio.StackedFeatures.v1")
def build_stacked_features(
    transformer: Model[List[Doc], List[Floats2d]],
    static: Model[List[Doc], List[Floats2d]],
) -> Model[List[Doc], List[Floats2d]]:
    """Concatenate two token-vector models: ``[transformer(doc) | static(doc)]`` per token.

    transformer: usually a ``spacy-transformers.TransformerListener.v1``.
    static: usually a ``spacy.Tok2Vec.v2`` whose embedding includes static vectors.
    The output width is the sum of both widths (inferred at initialization).
    """
    model: Model[List[Doc], List[Floats2d]] = concatenate(transformer, static)
    model.name = "stacked_features"
    model.init = _init_stacked
    model.set_ref("transformer", transformer)
    model.set_ref("static", static)
    return model


def _init_stacked(model: Model, X: Optional[List[Doc]] = None, Y: Optional[List[Floats2d]] = None) -> None:
    """Initialize both feature models from sample docs, then set the summed width.

    Unlike thinc's ``concatenate`` init, the head's label sample ``Y`` is not passed
    down: it describes the head's output, not the width of either feature model.
    """
    for layer in model.layers:
        layer.initialize(X=X)
    if all(layer.has_dim("nO") for layer in model.layers):
        model.set_dim("nO", sum(layer.get_dim("nO") for layer in model.layers))
