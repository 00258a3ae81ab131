"""The capacity and utilisation report, from the forwarder's host metrics (sourcetype
`speleo:metrics`, speleo.forward.metrics): CPU, memory, disk and network use over time per host,
and a days-until-full forecast per file system.

- Utilisation: per host and time bucket, mean `cpu_percent` (metric=cpu), mean memory `percent`
  (metric=memory), the fullest file system's `percent` (metric=disk, max over mounts) and mean
  network `bytes_recv_per_s` / `bytes_sent_per_s` (metric=net); the host summary gives the mean
  and maximum of each over the whole range, exact (from per-bucket sums, counts and maxima of one
  search, not means of means).
- Forecast: for each (host, mount), the least-squares line of `used` bytes against time over the
  forecast range (default the last 7 days: recent usage), one point per bucket (the mean `used`
  of the samples in it, at the bucket's start; buckets as above, so at most ~300 points whatever
  the sampling interval). When its slope
  is <= 0 the file system is "not growing"; otherwise days until full = (total - last used) /
  slope, and `full_at` the date it is reached. Fewer than two samples give "not enough data".
- Services: the forwarder's `--service NAME` puts `service` in each metrics event. Per service and
  time bucket: CPU and memory are the mean over every sample of the service's hosts (the service's
  hosts weigh by their samples: exact from the per-host sums and counts), the fullest disk is the
  maximum over its hosts, and network in and out are the sum of its hosts' mean rates (the
  service's traffic). The service summary gives the mean and maximum of each series over the
  range (network: the mean and maximum of the summed rate). A host that reported no service is in
  no service; a host that changed service over the range counts in each for the buckets it
  reported it in.
"""

from __future__ import annotations

from speleo.errors import InputError
from speleo.ops.reports.stats import least_squares

MAX_ROWS = 500_000
_FIELDS = ('eval cpu=if(metric="cpu",cpu_percent,null()), mem=if(metric="memory",percent,null()), '
           'disk=if(metric="disk",percent,null()), rx=if(metric="net",bytes_recv_per_s,null()), '
           'tx=if(metric="net",bytes_sent_per_s,null()), service=coalesce(service,"")')
_SERIES = {"cpu": "cpu_percent", "mem": "memory_percent", "disk": "disk_percent", "rx": "net_recv_bytes_per_s",
           "tx": "net_sent_bytes_per_s"}
_SUMMARY = {"cpu": "cpu", "mem": "memory", "disk": "disk", "rx": "net_recv", "tx": "net_sent"}
# one pass: per host and bucket the sum, count and maximum of each figure; the buckets' means and
# the host's mean and maximum over the range are computed from these (exact, not means of means)
_STATS = " ".join(f"sum({f}) as {f}_sum count({f}) as {f}_n max({f}) as {f}_max" for f in _SERIES)


SPANS = (300, 600, 900, 1200, 1800, 3600, 7200, 10800, 14400, 21600, 43200, 86400)
HOUR = 3600


def span_for(secs: float) -> int:
    """A bucket width (seconds) giving at most ~300 points over `secs`: a divisor of an hour, or
    a whole number of hours dividing a day, or whole days. Widths of whole hours are summed from
    hourly partial aggregates, which the reports' rollup keeps (decision 0033)."""
    for span in SPANS:
        if secs / span <= 300:
            return span
    return -(-int(secs / 300) // 86400) * 86400


def _by_hour(search, spl: str, since: float, until: float, rollup, name: str) -> list[dict]:
    """Rows of `spl` (a stats by `_time` with `span=3600`) over [since, until): from the rollup's
    hourly summaries when one is given, else from one search; the same rows either way."""
    def compute(lo: float, hi: float):
        res = search(spl, lo, hi, MAX_ROWS)
        return res.table.to_pylist(), not getattr(res, "truncated", False)

    rows, _ = rollup.hourly_items(name, compute, since, until) if rollup is not None else compute(since, until)
    return rows


def _combine(rows: list[dict], span: int, keys: tuple[str, ...], sums: tuple[str, ...], maxes: tuple[str, ...]) -> list[dict]:
    """Hourly partial aggregates summed into `span`-wide buckets (bucket start = floor(_time /
    span) * span, as `bin` aligns them): sums and counts add, maxima take the maximum."""
    out: dict[tuple, dict] = {}
    for r in sorted(rows, key=lambda r: float(r["_time"])):   # hour order: the sums' order is fixed
        t = float(r["_time"]) // span * span
        k = (*[r.get(x) for x in keys], t)
        b = out.get(k)
        if b is None:
            b = out[k] = {**{x: r.get(x) for x in keys}, "_time": t, **{f: None for f in (*sums, *maxes)}}
        for f in sums:
            v = r.get(f)
            if v is not None and (type(v) is float or type(v) is int or (v := _num(v)) is not None):
                b[f] = v if b[f] is None else b[f] + v
        for f in maxes:
            v = r.get(f)
            if v is not None and (type(v) is float or type(v) is int or (v := _num(v)) is not None) \
                    and (b[f] is None or v > b[f]):
                b[f] = v
    return list(out.values())


def _num(v):
    if v is None:
        return None
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def _check_name(what: str, v: str | None) -> None:
    if v is not None and (not v or any(c in v for c in ' "|[]=\\')):
        raise InputError(f"{what} '{v}': give a plain name (no spaces, quotes or pipes)")


def report(search, since: float, until: float, index: str = "metrics", host: str | None = None,
           forecast_days: float = 7.0, rollup=None, service: str | None = None) -> dict:
    """`{"report": "capacity", "since", "until", "span", "hosts": [{"host", "services", summary...,
    "series": [...]}], "services": [{"service", "hosts", summary..., "series": [...]}],
    "filesystems": [forecast...]}` (percents 0-100, rates in bytes per second, times epoch
    seconds UTC); `host` and `service` restrict it to one host or one service's hosts;
    `search(spl, earliest, latest, limit)` is the caller's search; `rollup`
    (speleo.ops.reports.rollup.Rollup, optional) keeps hourly partial aggregates so that a month
    is summed from summaries instead of read again (the same figures). Raises InputError (a
    name with spaces, quotes or pipes; an empty range; forecast days <= 0)."""
    _check_name("index", index)
    _check_name("host", host)
    _check_name("service", service)
    if until <= since:
        raise InputError("the range is empty: --since must be before --until")
    if not forecast_days > 0:
        raise InputError(f"forecast days {forecast_days}: give a positive number of days (7 is usual)")
    base = f'index="{index}" sourcetype="speleo:metrics"' + (f' host="{host}"' if host else "") \
        + (f' service="{service}"' if service else "")
    sel = f"{base} (metric=cpu OR metric=memory OR metric=disk OR metric=net) | {_FIELDS}"
    span = span_for(until - since)
    if span % HOUR == 0:
        hourly = _by_hour(search, f"{sel} | bin _time span={HOUR} | stats {_STATS} by host service _time", since,
                          until, rollup, f"capacity-use-by-service\0{sel}")
        found = _combine(hourly, span, ("host", "service"), tuple(f"{f}_{k}" for f in _SERIES for k in ("sum", "n")),
                         tuple(f"{f}_max" for f in _SERIES))
    else:
        found = search(f"{sel} | bin _time span={span} | stats {_STATS} by host service _time", since, until,
                       MAX_ROWS).table.to_pylist()
    per_host: dict[str, list[dict]] = {}
    for r in found:
        per_host.setdefault(r["host"], []).append(r)
    hosts = [_host(h, _merge_services(rows)) for h, rows in per_host.items()]
    for h in hosts:
        h["services"] = sorted({str(r["service"]) for r in per_host[h["host"]] if r.get("service")})
    hosts.sort(key=lambda x: x["host"])
    services = _services(found)
    f_since = max(since, until - forecast_days * 86400)
    fs = forecast(search, base, f_since, until, rollup)
    of_host = {h["host"]: h["services"] for h in hosts}
    for f in fs:
        f["services"] = of_host.get(f["host"], [])
    return {"report": "capacity", "since": since, "until": until, "index": index, "span": span,
            "forecast_since": f_since, "hosts": hosts, "services": services, "filesystems": fs}


def _merge_services(rows: list[dict]) -> list[dict]:
    """One host's bucket rows with the service left out (a host that changed service has two rows
    for a bucket it reported both in): sums and counts add, maxima take the maximum."""
    sums = tuple(f"{f}_{k}" for f in _SERIES for k in ("sum", "n"))
    maxes = tuple(f"{f}_max" for f in _SERIES)
    by_time: dict[float, dict] = {}
    for r in rows:
        t = float(r["_time"])
        b = by_time.get(t)
        if b is None:
            by_time[t] = dict(r)
            continue
        for f in sums:
            v = _num(r.get(f))
            if v is not None:
                b[f] = v if _num(b.get(f)) is None else _num(b[f]) + v
        for f in maxes:
            v = _num(r.get(f))
            if v is not None and (_num(b.get(f)) is None or v > _num(b[f])):
                b[f] = v
    return list(by_time.values())


def _services(rows: list[dict]) -> list[dict]:
    """Per service (see the module doc): its hosts, series and summary from the per-host bucket rows."""
    by_service: dict[str, dict[float, list[dict]]] = {}
    for r in rows:
        if r.get("service"):
            by_service.setdefault(str(r["service"]), {}).setdefault(float(r["_time"]), []).append(r)
    out = []
    for name, buckets in sorted(by_service.items()):
        series = []
        for t, group in sorted(buckets.items()):
            p: dict = {"time": t, "hosts": len({r["host"] for r in group})}
            for f in ("cpu", "mem"):
                n = sum(int(_num(r.get(f"{f}_n")) or 0) for r in group)
                p[_SERIES[f]] = sum(_num(r.get(f"{f}_sum")) or 0.0 for r in group) / n if n else None
            disks = [m for m in (_num(r.get("disk_max")) for r in group) if m is not None]
            p[_SERIES["disk"]] = max(disks) if disks else None
            for f in ("rx", "tx"):
                means = [(_num(r.get(f"{f}_sum")) or 0.0) / n for r in group if (n := int(_num(r.get(f"{f}_n")) or 0))]
                p[_SERIES[f]] = sum(means) if means else None
            series.append(p)
        row: dict = {"service": name, "hosts": sorted({r["host"] for g in buckets.values() for r in g})}
        for f in ("cpu", "mem"):
            n = sum(int(_num(r.get(f"{f}_n")) or 0) for g in buckets.values() for r in g)
            row[f"{_SUMMARY[f]}_avg"] = sum(_num(r.get(f"{f}_sum")) or 0.0 for g in buckets.values() for r in g) / n \
                if n else None
            maxes = [m for g in buckets.values() for r in g if (m := _num(r.get(f"{f}_max"))) is not None]
            row[f"{_SUMMARY[f]}_max"] = max(maxes) if maxes else None
        for f in ("disk", "rx", "tx"):
            vals = [p[_SERIES[f]] for p in series if p[_SERIES[f]] is not None]
            row[f"{_SUMMARY[f]}_avg"] = sum(vals) / len(vals) if vals else None
            row[f"{_SUMMARY[f]}_max"] = max(vals) if vals else None
        row["series"] = series
        out.append(row)
    return out


def forecast(search, base: str, since: float, until: float, rollup=None) -> list[dict]:
    """The days-until-full forecast of each (host, mount) from its samples in [since, until).
    `used` is the last bucket's mean (the sum of `used` over the count of its values)."""
    span = span_for(until - since)
    stats = "sum(used) as used_sum count(used) as used_n max(total) as total count as samples by host mount _time"
    if span % HOUR == 0:
        hourly = _by_hour(search, f"{base} metric=disk | bin _time span={HOUR} | stats {stats}", since, until,
                          rollup, f"capacity-disk\0{base}")
        found = _combine(hourly, span, ("host", "mount"), ("used_sum", "used_n", "samples"), ("total",))
    else:
        found = search(f"{base} metric=disk | bin _time span={span} | stats {stats}", since, until,
                       MAX_ROWS).table.to_pylist()
    points: dict[tuple[str, str], list[tuple[float, float, float]]] = {}
    counts: dict[tuple[str, str], int] = {}
    for r in found:
        n = _num(r.get("used_n"))
        used = _num(r.get("used_sum")) / n if n and _num(r.get("used_sum")) is not None else None
        total = _num(r.get("total"))
        if used is None or total is None or not r.get("mount"):
            continue
        key = (r["host"], str(r["mount"]))
        points.setdefault(key, []).append((float(r["_time"]), used, total))
        counts[key] = counts.get(key, 0) + int(r.get("samples") or 0)
    out = []
    for (h, mount), pts in sorted(points.items()):
        pts.sort()
        t_last, used_last, total = pts[-1]
        fit = least_squares([p[0] for p in pts], [p[1] for p in pts])
        row = {"host": h, "mount": mount, "total": total, "used": used_last,
               "percent": None if not total else used_last / total * 100, "samples": counts[(h, mount)],
               "growth_bytes_per_day": None, "days_until_full": None, "full_at": None}
        if fit is None:
            row["status"] = "not enough data"
        elif fit[0] <= 0:
            row.update(status="not growing", growth_bytes_per_day=fit[0] * 86400)
        else:
            secs = max(0.0, total - used_last) / fit[0]
            row.update(status="growing", growth_bytes_per_day=fit[0] * 86400, days_until_full=secs / 86400,
                       full_at=t_last + secs)
        out.append(row)
    out.sort(key=lambda r: (r["days_until_full"] is None, r["days_until_full"] or 0, r["host"], r["mount"]))
    return out


def _host(host: str, buckets: list[dict]) -> dict:
    """A host's summary (`cpu_avg`, `cpu_max`, ...) and series from its per-bucket sums."""
    out: dict = {"host": host}
    for f, name in _SUMMARY.items():
        n = sum(int(b.get(f"{f}_n") or 0) for b in buckets)
        total = sum(_num(b.get(f"{f}_sum")) or 0.0 for b in buckets)
        maxes = [m for m in (_num(b.get(f"{f}_max")) for b in buckets) if m is not None]
        out[f"{name}_avg"] = total / n if n else None
        out[f"{name}_max"] = max(maxes) if maxes else None
    series = []
    for b in sorted(buckets, key=lambda b: float(b["_time"])):
        p = {"time": float(b["_time"])}
        for f, name in _SERIES.items():
            n = int(b.get(f"{f}_n") or 0)
            p[name] = (_num(b.get(f"{f}_max")) if f == "disk" else (_num(b.get(f"{f}_sum")) or 0.0) / n) if n else None
        series.append(p)
    out["series"] = series
    return out


def rows(rep: dict) -> list[dict]:
    """One row per file system (the forecast) for a table or CSV; utilisation is in the JSON."""
    return [{k: v for k, v in f.items()} for f in rep["filesystems"]]
