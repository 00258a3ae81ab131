"""anomalydetection's steps on the result (spl/commands/anomaly.py parses and checks the
options; Splunk Search Reference 9.1+, anomalydetection and anomalousvalue). Time and memory
grow with results x fields, at most MAX_VALUES values (else the search fails saying so).

method=histogram (the Reference): an event's probability is the product over the fields of
the frequency of its value: for a field whose values are all numbers, the share of the events
in the histogram bin holding it, else the share of the events with that very value.
Choices where the Reference is silent:
- a numeric field's histogram has Sturges' ceil(log2(n)) + 1 bins of equal width from its
  smallest to its largest value (n: the events holding a number), the largest value in the last;
- an event without the field counts as the value "missing" (its frequency: the share of
  events without it); values are compared as text (a multivalue value as its list);
- `probable_cause` is the field whose value is least frequent (the first listed on a tie);
- the threshold is pthresh when given (anomalous: probability below it), else on the natural
  logarithms of the events' probabilities Q1 - 1.5 * IQR with cutoff=false, and with
  cutoff=true (the default; the Reference: "modifies the formula in order to come up with a
  smaller number of anomalies") Tukey's far fence Q1 - 3 * IQR; quartiles are exact
  interpolated percentiles; an event is anomalous strictly below the threshold;
- `thresh` in the summary is that threshold as a probability (e^threshold), beside the
  log-probabilities of the other summary fields.

method=zscore (anomalousvalue's behaviour; its minsupcount/maxanofreq/minsupfreq/minnormfreq
field selection is not provided): for a field whose values are numbers (at least two, and more
than half of the values it holds: where the Reference is silent), a number is anomalous when the
two-sided normal probability of a value at least as far from the mean, erfc(|x - mean| /
(stdev * sqrt 2)) with the sample standard deviation of the numbers, is below pthresh (default
0.01); a text value, in such a field or in another, when the share of the events holding it is
below pthresh. The event gets `Anomaly_Score_Num(<field>)` (that probability) or
`Anomaly_Score_Cat(<field>)` (that share) for each anomalous value: smaller is more anomalous.
action=summary gives one row per field: fieldname, count, distinct_count, mean, stdev (numeric
fields), isNum (YES/NO), catAnoFreq% / numAnoFreq% (the percentage of the field's text values /
numbers found anomalous; a numeric field with text values has both), supportFreq% (the percentage of events holding the field); catNormFreq%, useCat and
useNum, which follow from the field selection options, are not given.
"""

from __future__ import annotations

import math
from collections import Counter

import pyarrow as pa

MAX_VALUES = 5_000_000   # results x fields read into Python


def anomalydetection(table: pa.Table, step: dict) -> pa.Table:
    from speleo.query.post import _visible

    names = step["fields"] or [c for c in _visible(table) if not c.startswith("_")]
    if table.num_rows * max(len(names), 1) > MAX_VALUES:
        from speleo.errors import InputError

        raise InputError(f"anomalydetection: {table.num_rows:,} results x {len(names)} fields is more than "
                         f"{MAX_VALUES:,} values; name fewer fields or narrow the search")
    columns = {n: table.column(n).to_pylist() if n in table.column_names else [None] * table.num_rows
               for n in names}
    if step["method"] == "histogram":
        return _histogram(table, columns, step)
    return _zscore(table, columns, step)


# --- histogram ---------------------------------------------------------------------------------


def _histogram(table: pa.Table, columns: dict[str, list], step: dict) -> pa.Table:
    from speleo.query.post import set_columns

    n = table.num_rows
    freqs = {name: _frequencies(values) for name, values in columns.items()}
    logp, cause, cause_freq, top = [], [], [], []
    for i in range(n):
        row = [(freqs[name][i], name) for name in columns]
        logp.append(sum(math.log(f) for f, _ in row))
        low = min(row, key=lambda fn: fn[0]) if row else (None, None)   # min keeps the first on a tie
        cause.append(low[1])
        cause_freq.append(low[0])
        top.append(max(f for f, _ in row) if row else None)
    ordered = sorted(logp)
    threshold = None
    if step["pthresh"] is not None:
        threshold = math.log(step["pthresh"])
    elif ordered:
        q1, q3 = _quantile(ordered, 0.25), _quantile(ordered, 0.75)
        threshold = q1 - (3.0 if step["cutoff"] else 1.5) * (q3 - q1)
    anomalous = [threshold is not None and x < threshold for x in logp]
    if step["action"] == "summary":
        have = bool(ordered)
        return pa.table({
            "num_anomalies": pa.array([sum(anomalous)], pa.int64()),
            "thresh": pa.array([math.exp(threshold) if threshold is not None else None], pa.float64()),
            "max_logprob": pa.array([ordered[-1] if have else None], pa.float64()),
            "min_logprob": pa.array([ordered[0] if have else None], pa.float64()),
            "1st_quartile": pa.array([_quantile(ordered, 0.25) if have else None], pa.float64()),
            "3rd_quartile": pa.array([_quantile(ordered, 0.75) if have else None], pa.float64())})
    added = {"log_event_prob": pa.array(logp, pa.float64()), "probable_cause": pa.array(cause, pa.string()),
             "probable_cause_freq": pa.array(cause_freq, pa.float64()), "max_freq": pa.array(top, pa.float64())}
    table = set_columns(table, added)
    if step["action"] == "filter":
        table = table.filter(pa.array(anomalous, pa.bool_()))
    return table


def _number(v) -> float | None:
    """`v` as a finite number, else None (NaN and infinities are not numbers, given as text or not)."""
    from speleo.query.post import _as_number

    x = _as_number(v)
    return x if x is not None and math.isfinite(x) else None


def _frequencies(values: list) -> list[float]:
    """Each event's share of the events in its value's bin (numbers) or with its value."""
    n = len(values)
    nums = [_number(v) for v in values]
    present = [x for x, v in zip(nums, values) if v is not None and x is not None]
    numeric = bool(present) and all(v is None or x is not None for x, v in zip(nums, values))
    if numeric:
        lo, hi = min(present), max(present)
        bins = math.ceil(math.log2(len(present))) + 1
        scale = 1.0 if math.isfinite(hi - lo) else 0.5   # numbers near both ends of the doubles: halved
        width = (hi * scale - lo * scale) / bins
        keys = [None if x is None else (min(int((x * scale - lo * scale) / width), bins - 1) if width > 0 else 0)
                for x in nums]
    else:
        keys = [_key(v) for v in values]
    counts = Counter(keys)
    return [counts[k] / n for k in keys]


def _key(v):
    if v is None:
        return None
    if isinstance(v, list):
        return tuple(_key(x) for x in v)
    from speleo.query.post import _cell

    return _cell(v)


def _quantile(ordered: list[float], q: float) -> float:
    from speleo.query.post import _quantile as quantile

    return quantile(ordered, q)


# --- zscore (anomalousvalue) -----------------------------------------------------------------------


def _zscore(table: pa.Table, columns: dict[str, list], step: dict) -> pa.Table:
    from speleo.query.post import set_columns

    n = table.num_rows
    pthresh = step["pthresh"] if step["pthresh"] is not None else 0.01
    scores: dict[str, list] = {}
    summary = []
    for name, values in columns.items():
        tests = _field_tests(values, n)
        if not tests:
            continue
        # the tests split the field's values (numbers / text): counts and distinct counts add up
        row = {"fieldname": name, "count": sum(t[2]["count"] for t in tests),
               "distinct_count": sum(t[2]["distinct"] for t in tests), "mean": None, "stdev": None,
               "isNum": "YES" if tests[0][0] == "Num" else "NO", "catAnoFreq%": None, "numAnoFreq%": None}
        row["supportFreq%"] = 100.0 * row["count"] / n if n else 0.0
        for label, per_row, info in tests:
            flagged = [p if p is not None and p < pthresh else None for p in per_row]
            if any(f is not None for f in flagged):
                scores[f"Anomaly_Score_{label}({name})"] = flagged
            held = info["count"]
            row["catAnoFreq%" if label == "Cat" else "numAnoFreq%"] = \
                100.0 * sum(f is not None for f in flagged) / held if held else 0.0
            if label == "Num":
                row["mean"], row["stdev"] = info["mean"], info["stdev"]
        summary.append(row)
    if step["action"] == "summary":
        from speleo.spl.commands.anomaly import ZSCORE_SUMMARY_FIELDS

        return pa.table({c: pa.array([r[c] for r in summary], _SUMMARY_TYPES[c]) for c in ZSCORE_SUMMARY_FIELDS})
    out = set_columns(table, {name: pa.array(v, pa.float64()) for name, v in scores.items()})
    if step["action"] == "filter":
        keep = [any(v[i] is not None for v in scores.values()) for i in range(n)]
        out = out.filter(pa.array(keep, pa.bool_()))
    return out


_SUMMARY_TYPES = {"fieldname": pa.string(), "count": pa.int64(), "distinct_count": pa.int64(), "mean": pa.float64(),
                  "stdev": pa.float64(), "isNum": pa.string(), "catAnoFreq%": pa.float64(),
                  "numAnoFreq%": pa.float64(), "supportFreq%": pa.float64()}


def _field_tests(values: list, n: int) -> list:
    """The tests of one field, each ("Num" or "Cat", each row's probability or share (None where
    the test does not score the row), facts): none for a field no event holds; ["Num"] when its
    values are all numbers (at least two); ["Num", "Cat"] when most but not all are: the numbers
    by the z test, each text value by the share of the events holding it (a text value in a
    numeric field is itself unusual; the Reference does not say where a field stops being
    numeric: Speleo counts it numeric while more than half of its values are numbers, as the
    summary's separate numAnoFreq% and catAnoFreq% allow); else ["Cat"] over every value."""
    held = [v for v in values if v is not None]
    if not held:
        return []
    nums = [_number(v) for v in values]
    count = sum(1 for x, v in zip(nums, values) if v is not None and x is not None)
    if count >= 2 and 2 * count > len(held):
        tests = [_num_test(nums)]
        if count < len(held):
            texts = [v if v is not None and x is None else None for x, v in zip(nums, values)]
            tests.append(_cat_test(texts, n))
        return tests
    return [_cat_test(values, n)]


def _cat_test(values: list, n: int):
    """Each value's share of all `n` events holding that very value (None without a value)."""
    keys = [_key(v) for v in values]
    counts = Counter(k for k in keys if k is not None)
    return "Cat", [None if k is None else counts[k] / n for k in keys], \
        {"count": sum(1 for k in keys if k is not None), "distinct": len(counts)}


def _num_test(nums: list):
    """The two-sided normal probability of each number (None for a row without one)."""
    present = [x for x in nums if x is not None]
    # worked out on the numbers divided by the largest magnitude (when their squares could
    # overflow: 1e308 and -1e308), so every sum is finite; the scores do not change
    big = max(abs(x) for x in present)
    scale = big if big > 1e150 else 1.0
    ys = [x / scale for x in present]
    mean = sum(ys) / len(ys)
    stdev = math.sqrt(sum((y - mean) * (y - mean) for y in ys) / (len(ys) - 1))
    probs = [None if x is None else
             (1.0 if stdev == 0 else math.erfc(abs(x / scale - mean) / (stdev * math.sqrt(2)))) for x in nums]
    return "Num", probs, {"count": len(present), "distinct": len(set(present)), "mean": mean * scale,
                          "stdev": stdev * scale}
