"""Fork safety for torch pipelines run with ``nlp.pipe(..., n_process=N)``.

spaCy's multi-process ``pipe`` forks workers (Linux default start method). torch's
CPU wheels run intra-op parallel work (``layer_norm``, matmuls...) on a GNU OpenMP
(libgomp) thread pool; once the parent has used that pool, a forked child inherits
its state but not its threads, and its first parallel region waits forever. The
child then sits idle after the Hugging Face tokenizers "fork" warning.

:func:`install_fork_guard` registers an ``os.register_at_fork`` hook that gives
each forked child one torch intra-op thread (as torch's own ``DataLoader`` workers
do), which skips the inherited pool; it also sets ``TOKENIZERS_PARALLELISM=false``
before a fork, when the user has not chosen a value, which is what the tokenizers
library would do to the child anyway, without the warning. It is installed when
``spacy_cbio.components`` is imported, i.e. whenever a pipeline using one of its
registered functions is loaded.
"""
from __future__ import annotations

import os
import sys

CHILD_TORCH_THREADS = 1
_installed = False


def _before_fork() -> None:
    if "tokenizers" in sys.modules:
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def _after_fork_in_child() -> None:
    torch = sys.modules.get("torch")
    if torch is not None and hasattr(torch, "set_num_threads"):
        torch.set_num_threads(CHILD_TORCH_THREADS)


def install_fork_guard() -> bool:
    """Register the fork hooks once per process. RETURNS whether this call installed them."""
    global _installed
    if _installed or not hasattr(os, "register_at_fork"):
        return False
    os.register_at_fork(before=_before_fork, after_in_child=_after_fork_in_child)
    _installed = True
    return True


__all__ = ["install_fork_guard", "CHILD_TORCH_THREADS"]
