"""Forecasts for `predict` (spl/commands/opscmds.py): exponential smoothing in its state-space
("innovations") form, the family Splunk's own algorithms belong to.

Splunk Search Reference 9.4, predict: LL is a local level model, LLT a local level with a trend,
LLP a local level with a seasonal component of `period` values, LLP5 a combination of LLT and
LLP; each gives a prediction and a confidence interval for every time step, including the
missing values and the `future_timespan` steps after the data. Splunk fits its models with a
Kalman filter; Speleo fits the equivalent exponential smoothing models (a local level model's
steady-state Kalman filter *is* simple exponential smoothing) by choosing the smoothing weights
that minimise the one-step-ahead squared error over a grid, so the numbers are close to
Splunk's but not equal to them. LLB and BiLL (two correlated series) are not provided.

Shapes: a series is a list of floats or None (missing), one per result row, in time order.
`fit(values, algorithm, period)` returns a `Forecast`: the one-step prediction of each row
(None before the model's first state), the standard deviation of the one-step errors, and
`ahead(h)` (or `steps(count)`, all of them at once) for the steps after the last row. Errors: ValueError with a sentence for a person.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

ALGORITHMS = ("LL", "LLT", "LLP", "LLP5")
MAX_ROWS = 10_000        # a series longer than this is refused (the grid search is O(rows x grid))
MAX_FUTURE = 10_000      # future_timespan's upper bound
MAX_PERIOD = 2_000
_GRID = (0.01, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)


@dataclass
class Forecast:
    """A fitted model. `fitted[i]`: the one-step-ahead prediction of row i (None while the
    model has not its first state yet); `sigma`: the standard deviation of the one-step errors;
    `ahead(h)`: the prediction h steps after the last row and the multiplier of sigma for its
    interval (the square root of 1 + the sum of the squared weights of the innovations since,
    as the model's innovations form gives)."""

    algorithm: str
    period: int | None
    fitted: list[float | None]
    sigma: float
    mse: float
    parts: tuple = ()          # LLP5: the two models it combines, and their weights
    state: tuple = ()          # level, slope, seasonals, next seasonal index
    weights: tuple = ()        # alpha, beta, gamma; trend

    def ahead(self, h: int) -> tuple[float, float]:
        return self.steps(h)[-1]

    def steps(self, count: int) -> list[tuple[float, float]]:
        """`ahead(h)` for h = 1 .. count, in one pass (the sum of squared weights is a running
        sum: `ahead` for each h alone would be quadratic in `count`)."""
        if self.parts:
            (a, wa), (b, wb) = self.parts
            return [(wa * va + wb * vb, wa * sa + wb * sb)
                    for (va, sa), (vb, sb) in zip(a.steps(count), b.steps(count))]
        level, slope, season, idx = self.state
        alpha, beta, gamma, trend = self.weights
        period = self.period
        out = []
        acc = 1.0
        for h in range(1, count + 1):
            if h > 1:
                j = h - 1
                w = alpha * (1 + j * beta) if trend else alpha + (gamma if period and j % period == 0 else 0.0)
                acc += w * w
            value = level + (h * slope if trend else 0.0) + (season[(idx + h - 1) % period] if period else 0.0)
            out.append((value, math.sqrt(acc)))
        return out


def detect_period(values: list[float | None]) -> int | None:
    """The lag (2 .. n/2) of the highest autocorrelation of the series, when that correlation
    is at least 0.5 and higher than at the lags beside it; None when there is none (Splunk: the
    period of LLP, "If not specified, the period is estimated using autocorrelation")."""
    xs = [v for v in values if v is not None]
    n = len(xs)
    if n < 6:
        return None
    mean = sum(xs) / n
    dev = [x - mean for x in xs]
    var = sum(d * d for d in dev)
    if var == 0:
        return None
    acf = [1.0] + [sum(dev[i] * dev[i + lag] for i in range(n - lag)) / var for lag in range(1, min(n // 2, MAX_PERIOD) + 1)]
    best = None
    for lag in range(2, len(acf)):
        a = acf[lag]
        if a < 0.5 or a <= acf[lag - 1] or (lag + 1 < len(acf) and a < acf[lag + 1]):
            continue
        if best is None or a > acf[best] + 1e-9:
            best = lag
    return best


def _run(values: list[float | None], alpha: float, beta: float, gamma: float, trend: bool,
         period: int | None) -> tuple[list[float | None], float, int, tuple]:
    """One pass of the model over the series: the one-step predictions, the sum of squared
    one-step errors and their count, and the final state (level, slope, seasonals, the index of
    the next row's seasonal). The first state comes from the first value (LL), the first two
    (LLT), or the `period` rows from the first value on (LLP: their mean, and each row's
    difference from it; a missing one 0)."""
    level = None
    slope = 0.0
    season = [0.0] * (period or 1)
    fitted: list[float | None] = []
    sse, count = 0.0, 0
    first: list[float | None] = []
    origin = None
    for i, y in enumerate(values):
        if level is None:
            fitted.append(None)
            if origin is None:
                if y is None:
                    continue
                origin = i
            if period:
                first.append(y)
                if len(first) == period:
                    known = [v for v in first if v is not None]
                    level = sum(known) / len(known)
                    season = [0.0 if v is None else v - level for v in first]
            elif y is not None:
                first.append(y)
                if len(first) == (2 if trend else 1):
                    level = first[-1]
                    slope = first[-1] - first[0] if trend else 0.0
            continue
        s_idx = (i - origin) % period if period else 0
        pred = level + slope + season[s_idx]
        fitted.append(pred)
        if y is None:   # a missing value: the state moves on without an observation
            level += slope
            continue
        err = y - pred
        sse += err * err
        count += 1
        level += slope + alpha * err
        if trend:
            slope += alpha * beta * err
        if period:
            season[s_idx] += gamma * err
    nxt = (len(values) - origin) % period if period and origin is not None else 0
    return fitted, sse, count, (level, slope, season, nxt)


def fit(values: list[float | None], algorithm: str, period: int | None = None) -> Forecast:
    """Fit `algorithm` (LL, LLT, LLP, LLP5) to `values` (see the module's docstring). LLP
    without a period it can find, and LLP5 then, fall back to LLT (the `algorithm` field of the
    result says which ran). Raises ValueError for too few values or too long a series."""
    algorithm = algorithm.upper()
    if algorithm not in ALGORITHMS:
        raise ValueError(f"unknown algorithm {algorithm!r}: use one of {', '.join(ALGORITHMS)}")
    if len(values) > MAX_ROWS:
        raise ValueError(f"predict takes at most {MAX_ROWS:,} results ({len(values):,} given): use a larger span")
    known = sum(v is not None for v in values)
    if known < 2:
        raise ValueError("predict needs at least two numeric values of the field")
    if algorithm in ("LLP", "LLP5"):
        p = period or detect_period(values)
        if p is not None and known >= 2 * p:
            seasonal = _best(values, trend=False, period=p)
            if algorithm == "LLP":
                return seasonal
            return _combine(_best(values, trend=True, period=None), seasonal)
        return _best(values, trend=True, period=None)
    return _best(values, trend=algorithm == "LLT", period=None)


def _best(values: list[float | None], trend: bool, period: int | None) -> Forecast:
    best = None
    for alpha in _GRID:
        for beta in (_GRID if trend else (0.0,)):
            for gamma in (_GRID if period else (0.0,)):
                if period and gamma > 1 - alpha + 1e-12:   # the usual bound of the seasonal weight
                    continue
                fitted, sse, count, state = _run(values, alpha, beta, gamma, trend, period)
                mse = sse / count if count else 0.0
                if best is None or mse < best[0] - 1e-12:
                    best = (mse, (alpha, beta, gamma, trend), fitted, state)
    mse, weights, fitted, state = best
    return Forecast("LLP" if period else ("LLT" if trend else "LL"), period, fitted, math.sqrt(mse), mse,
                    state=state, weights=weights)


def _combine(a: Forecast, b: Forecast) -> Forecast:
    """LLP5: the two models' predictions weighted by the inverse of their one-step mean squared
    errors (equal weights when both are exact), as the one with the smaller errors deserves."""
    if a.mse == 0 and b.mse == 0:
        wa = wb = 0.5
    elif a.mse == 0 or b.mse == 0:
        wa, wb = (1.0, 0.0) if a.mse == 0 else (0.0, 1.0)
    else:
        wa, wb = (1 / a.mse) / (1 / a.mse + 1 / b.mse), (1 / b.mse) / (1 / a.mse + 1 / b.mse)
    fitted = [None if x is None or y is None else wa * x + wb * y for x, y in zip(a.fitted, b.fitted)]
    mse = wa * a.mse + wb * b.mse
    return Forecast("LLP5", b.period, fitted, math.sqrt(mse), mse, parts=((a, wa), (b, wb)))
