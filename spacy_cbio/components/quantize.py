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
from typing import Any

from spacy.language import Language


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


__all__ = ["QuantizeError", "hf_model", "quantize_transformer"]
