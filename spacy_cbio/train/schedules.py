"""``spacy_cbio.warmup_linear_ratio.v1``: thinc's ``warmup_linear.v1`` with the warmup as a ratio.

CamemBERT-bio warms the learning rate up over 22.4% of the steps, whatever their
number; thinc's schedule takes a step count, so each profile had to repeat the
arithmetic. This one takes ``warmup_ratio`` and rounds ``warmup_ratio * total_steps``.
"""
from __future__ import annotations

from typing import Iterable

from thinc.api import registry, warmup_linear


def warmup_steps(warmup_ratio: float, total_steps: int) -> int:
    """The number of warmup steps: ``round(warmup_ratio * total_steps)``."""
    if not 0.0 <= warmup_ratio <= 1.0:
        raise ValueError(f"warmup_ratio must be in [0, 1], not {warmup_ratio}")
    return round(warmup_ratio * total_steps)


@registry.schedules("spacy_cbio.warmup_linear_ratio.v1")
def warmup_linear_ratio(initial_rate: float, warmup_ratio: float, total_steps: int) -> Iterable[float]:
    """Linear warmup over ``round(warmup_ratio * total_steps)`` steps, then linear decay to 0."""
    return warmup_linear(
        initial_rate=initial_rate, warmup_steps=warmup_steps(warmup_ratio, total_steps), total_steps=total_steps
    )
