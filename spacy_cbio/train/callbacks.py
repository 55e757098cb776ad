"""Training callbacks registered for the configs (``[initialize.before_init]``)."""
from __future__ import annotations

from typing import Callable, Sequence

from spacy.language import Language
from spacy.util import registry


@registry.callbacks("spacy_cbio.init_frozen.v1")
def make_init_frozen(components: Sequence[str] = ("transformer",)) -> Callable[[Language], Language]:
    """Initialize ``components`` before ``nlp.initialize`` so that they can be frozen.

    spaCy skips frozen components in ``nlp.initialize`` (they are expected to be sourced
    from a trained pipeline). A transformer loaded from a pretrained Hugging Face
    directory needs initializing all the same: that loads its weights and gives its
    listeners their width. With ``[training] frozen_components`` and
    ``annotating_components`` naming it, it then runs in prediction mode only and its
    listeners read ``doc._.trf_data``: no backward pass through the transformer.
    """

    def init_frozen(nlp: Language) -> Language:
        # Called by nlp.initialize while the frozen components are disabled: look them up
        # among all components, and hand their width to the listeners linked before.
        frozen = set(nlp.config["training"].get("frozen_components", []))
        for name in components:
            if name in frozen and name in nlp.component_names:
                pipe = nlp.get_pipe(name)
                pipe.initialize(lambda: [], nlp=None)
                width = pipe.model.get_dim("nO")
                for listener in getattr(pipe, "listeners", []):
                    if listener.has_dim("nO") is None:
                        listener.set_dim("nO", width)
        return nlp

    return init_frozen
