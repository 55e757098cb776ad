"""Int8 dynamic quantization of a pipeline's transformer, for CPU inference.

``torch.ao.quantization.quantize_dynamic`` replaces each ``nn.Linear`` of the Hugging Face
model inside the spacy-transformers component by an int8 one (weights stored in int8,
activations quantized on the fly). It applies to a loaded pipeline, in place, and only for
prediction: the quantized layers have no gradients and do not serialize back into the
pipeline's fp32 format, so quantize after ``spacy.load`` and do not save the result.
PyTorch marks ``torch.ao.quantization`` deprecated in favour of torchao (not a dependency
here); its warnings are silenced for this call only.
"""
from __future__ import annotations

import warnings
from typing import Any, Iterable, Iterator, Optional

from spacy.language import Language
from spacy.tokens import Doc


class QuantizeError(ValueError):
    """The pipeline has no spacy-transformers component whose model can be quantized."""


def hf_model(nlp: Language, name: str = "transformer") -> Any:
    """The ``torch.nn.Module`` of the Hugging Face model inside the component ``name``."""
    if name not in nlp.pipe_names:
        raise QuantizeError(f"no '{name}' component in the pipeline ({', '.join(nlp.pipe_names)})")
    model = nlp.get_pipe(name).model
    try:
        return model.layers[0].shims[0]._model
    except (AttributeError, IndexError):
        raise QuantizeError(f"'{name}' is not a spacy-transformers component with a PyTorch model") from None


def quantize_transformer(nlp: Language, name: str = "transformer") -> int:
    """Quantize the ``nn.Linear`` layers of the transformer ``name`` to int8, in place.

    RETURNS the number of layers quantized. The pipeline must run on the CPU.
    """
    import torch

    with warnings.catch_warnings():  # torch.ao.quantization is deprecated (for torchao), not gone
        warnings.simplefilter("ignore", DeprecationWarning)
        from torch.ao.quantization import quantize_dynamic

    module = hf_model(nlp, name)
    if any(p.device.type != "cpu" for p in module.parameters()):
        raise QuantizeError("int8 dynamic quantization runs on the CPU only: load the pipeline without a GPU")
    n_linear = sum(1 for m in module.modules() if isinstance(m, torch.nn.Linear))
    module.eval()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning, message=".*torch.ao.quantization")
        warnings.filterwarnings("ignore", category=UserWarning, message=".*quantize_per_tensor")
        quantize_dynamic(module, {torch.nn.Linear}, dtype=torch.qint8, inplace=True)
    return n_linear




class Int8Quantizer:
    """``cbio_quantize_int8``: quantizes the pipeline's transformer (:func:`quantize_transformer`) the
    first time the pipeline runs, after its weights are loaded; documents pass through untouched.
    First in the pipeline of an int8 package; it stores nothing (the weights stay fp32 on disk)."""

    def __init__(self, nlp: Language, name: str = "quantize_int8", component: str = "transformer") -> None:
        self.nlp = nlp
        self.name = name
        self.component = component
        self.n_quantized: Optional[int] = None

    def _ensure(self) -> None:
        if self.n_quantized is None:
            self.n_quantized = quantize_transformer(self.nlp, self.component)

    def __call__(self, doc: Doc) -> Doc:
        self._ensure()
        return doc

    def pipe(self, docs: Iterable[Doc], batch_size: int = 128) -> Iterator[Doc]:
        self._ensure()
        yield from docs


@Language.factory("cbio_quantize_int8", default_config={"component": "transformer"})
def make_int8_quantizer(nlp: Language, name: str, component: str) -> Int8Quantizer:
    """Create a ``cbio_quantize_int8`` component (see :class:`Int8Quantizer`)."""
    return Int8Quantizer(nlp, name, component)


__all__ = ["QuantizeError", "hf_model", "quantize_transformer", "Int8Quantizer", "make_int8_quantizer"]
