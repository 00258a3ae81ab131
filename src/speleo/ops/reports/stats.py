"""Summary statistics shared by the reports (pure functions).

- mean: the arithmetic mean;
- median: the middle value, or the mean of the two middle values for an even count;
- p90: the nearest-rank 90th percentile, the ceil(0.9 * n)-th smallest value (so it is always a
  value that was observed; NIST/Hyndman-Fan definition 1).
"""

from __future__ import annotations

import math
from typing import Sequence


def nearest_rank(sorted_values: Sequence[float], q: float) -> float:
    """The nearest-rank `q`-quantile (0 < q <= 1) of an ascending, non-empty sequence."""
    k = max(1, math.ceil(q * len(sorted_values)))
    return sorted_values[k - 1]


def summary(values: Sequence[float]) -> dict:
    """`{"n", "mean", "median", "p90"}` of `values` (seconds stay seconds); None figures when empty."""
    n = len(values)
    if n == 0:
        return {"n": 0, "mean": None, "median": None, "p90": None}
    v = sorted(values)
    mid = n // 2
    median = v[mid] if n % 2 else (v[mid - 1] + v[mid]) / 2
    return {"n": n, "mean": sum(v) / n, "median": median, "p90": nearest_rank(v, 0.9)}


def least_squares(xs: Sequence[float], ys: Sequence[float]) -> tuple[float, float] | None:
    """`(slope, intercept)` of the least-squares line y = slope * x + intercept, or None when
    fewer than two distinct x values exist."""
    n = len(xs)
    if n < 2:
        return None
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    if sxx == 0:
        return None
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx
    return slope, my - slope * mx
