"""Measurements that print figures (``make bench``)."""

from __future__ import annotations


def percentile(values: list[float], fraction: float) -> float:
    """The nearest-rank value at ``fraction`` (0.95 for p95) of ``values``."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]
