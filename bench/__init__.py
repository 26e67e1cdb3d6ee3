"""Measurements that print figures (``make bench``)."""

from __future__ import annotations

from pathlib import Path

# For benchmarks that sign many accounts in from one address: the sign-in throttle lifted.
UNTHROTTLED = {"AUTH_ATTEMPTS_PER_MINUTE": "1000000", "REGISTRATIONS_PER_HOUR": "1000000"}


def percentile(values: list[float], fraction: float) -> float:
    """The nearest-rank value at ``fraction`` (0.95 for p95) of ``values``."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def proc_status_mib(pid: int, field: str) -> float:
    """A memory figure of a process from /proc (``VmRSS`` now, ``VmHWM`` its high-water mark)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def reset_peak_rss(pid: int) -> None:
    """Start VmHWM again from the current RSS (Linux: write 5 to clear_refs)."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")
