"""Two ``results.json`` files, run by run: does a rerun reproduce the committed numbers?"""
from __future__ import annotations

from typing import Any, Dict, List

from .grid import record_name

SCORES = ("p", "r", "f")


def _runs(data: Dict[str, Any]) -> Dict[str, Dict[str, Any]]:
    return {record_name(r): r for r in data.get("runs", [])}


def compare_results(expected: Dict[str, Any], actual: Dict[str, Any], *, tolerance: float = 1e-6) -> Dict[str, Any]:
    """RETURNS ``{"same": n, "differ": [...], "only_expected": [...], "only_actual": [...], "lines": [...]}``;
    two runs are the same when every split they hold has P, R and F1 within ``tolerance``."""
    left, right = _runs(expected), _runs(actual)
    differ: List[str] = []
    lines: List[str] = []
    same = 0
    for name in sorted(set(left) & set(right)):
        problems = []
        for split in ("dev", "test"):
            if (split in left[name]) != (split in right[name]):
                problems.append(f"{split} scores in only one of the two")
                continue
            if split not in left[name]:
                continue
            for metric in SCORES:
                a, b = left[name][split][metric], right[name][split][metric]
                if abs(a - b) > tolerance:
                    problems.append(f"{split} {metric} {100 * a:.4f} vs {100 * b:.4f}")
        if problems:
            differ.append(name)
            lines.append(f"{name}: " + "; ".join(problems))
        else:
            same += 1
    only_expected = sorted(set(left) - set(right))
    only_actual = sorted(set(right) - set(left))
    lines += [f"{name}: only in the first" for name in only_expected]
    lines += [f"{name}: only in the second" for name in only_actual]
    return {"same": same, "differ": differ, "only_expected": only_expected, "only_actual": only_actual,
            "lines": lines}
