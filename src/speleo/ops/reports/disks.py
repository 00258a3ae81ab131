"""The disk health report: each drive's failure-predicting SMART figures, their trend and a
risk rating, from the `smartctl:json` events the forwarder sends (speleo.forward.smart) or any
smartctl JSON indexed with that sourcetype. Rules in `speleo.smartdata`.

A drive is (host, device name, serial number). Trend per figure over the range: `rising`,
`falling` or `steady` (last reading against the first). A document that does not parse, or that
the forwarder flagged (`smartctl_parse_error`, `smartctl_error`), is listed under `flagged` with
its host, time and reason: kept, never dropped silently.
"""

from __future__ import annotations

from speleo import smartdata
from speleo.errors import InputError

MAX_READINGS = 50_000   # documents read per report (~3 KB each); past it `truncated` is true and the
                        # newest are used: narrow the range
ALERT_EXAMPLE = ("sourcetype=smartctl:json | stats min(speleo_smart.pending_sectors) as first "
                 "max(speleo_smart.pending_sectors) as last by host speleo_smart.device | where last > first")


def report(search, since: float, until: float, index: str = "metrics", rollup=None) -> dict:
    """`{"report": "disks", "since", "until", "index", "drives": [...], "flagged": [...], "truncated"}`.

    `search(spl, earliest, latest, limit)` is the caller's search; `rollup`
    (speleo.ops.reports.rollup.Rollup, optional) keeps each complete hour's parsed readings, so
    that a month is read from summaries instead of searched and parsed again (the same report).
    Drives are sorted worst risk first, then host and device."""
    if not index or any(c in index for c in ' "|[]='):
        raise InputError(f"index '{index}': give an index name")
    spl = f'index="{index}" sourcetype="smartctl:json" | fields _time host _raw'

    def compute(lo: float, hi: float) -> tuple[list[dict], bool]:
        res = search(spl, lo, hi, MAX_READINGS)
        return [_reading(ev) for ev in res.table.to_pylist()], not getattr(res, "truncated", False)

    if rollup is not None:
        readings, complete = rollup.hourly_items(f"disks\0{spl}", compute, since, until, at="t")
    else:
        readings, complete = compute(since, until)
    if len(readings) > MAX_READINGS:   # summaries and searches together: the newest, as a search keeps
        readings, complete = sorted(readings, key=lambda r: r["t"])[-MAX_READINGS:], False
    drives: dict[tuple, list] = {}
    flagged = []
    for r in readings:
        if "flag" in r:
            flagged.append(r["flag"])
        else:
            s = r["s"]
            drives.setdefault((r["host"], s["device"] or "?", s["serial"] or ""), []).append((r["t"], s))
    out = [_drive(k, sorted(v, key=lambda x: x[0])) for k, v in drives.items()]
    order = {r: i for i, r in enumerate(smartdata.RISKS)}
    out.sort(key=lambda d: (order[d["risk"]], d["host"], d["device"]))
    return {"report": "disks", "since": since, "until": until, "index": index, "drives": out,
            "flagged": sorted(flagged, key=lambda f: f["time"]), "truncated": not complete,
            "alert_example": ALERT_EXAMPLE}


def _reading(ev: dict) -> dict:
    """One smartctl document as `{"t", "host", "s": summary}` or `{"t", "host", "flag": {...}}`
    (a document that does not parse, or that the forwarder flagged)."""
    t, host = float(ev.get("_time") or 0), ev.get("host") or ""
    try:
        doc = smartdata.parse(str(ev.get("_raw") or ""))
    except smartdata.SmartParseError as e:
        return {"t": t, "host": host, "flag": {"host": host, "time": t, "reason": f"smartctl document does not parse: {e}"}}
    if "smartctl_parse_error" in doc or "smartctl_error" in doc:
        reason = doc.get("smartctl_parse_error") or doc.get("smartctl_error")
        dev = (doc.get("device") or {}).get("name") if isinstance(doc.get("device"), dict) else None
        return {"t": t, "host": host,
                "flag": {"host": host, "time": t, "device": dev, "reason": f"smartctl on the forwarder: {reason}"}}
    return {"t": t, "host": host, "s": smartdata.summary(doc)}


def _drive(key: tuple, readings: list[tuple[float, dict]]) -> dict:
    host, device, serial = key
    first, last = readings[0][1], readings[-1][1]
    names = [n for n in (*smartdata.ATA_PREDICTORS.values(), *smartdata.NVME_PREDICTORS) if n in last]
    attrs = {}
    for n in names:
        f, l = first.get(n, last[n]), last[n]
        attrs[n] = {"first": f, "last": l, "delta": l - f,
                    "trend": "rising" if l > f else "falling" if l < f else "steady",
                    "series": [[t, s[n]] for t, s in readings if n in s]}
    rating, reasons = smartdata.risk(first, last)
    return {"host": host, "device": device, "serial": serial, "model": last.get("model"),
            "protocol": last.get("protocol"), "passed": last.get("passed"), "risk": rating, "reasons": reasons,
            "readings": len(readings), "first_seen": readings[0][0], "last_seen": readings[-1][0],
            "attributes": attrs}


def rows(rep: dict) -> list[dict]:
    """One row per (drive, figure) for a table or CSV."""
    out = []
    for d in rep["drives"]:
        base = {"host": d["host"], "device": d["device"], "serial": d["serial"], "model": d["model"], "risk": d["risk"]}
        if not d["attributes"]:
            out.append({**base, "attribute": None, "first": None, "last": None, "trend": None})
        for n, a in d["attributes"].items():
            out.append({**base, "attribute": n, "first": a["first"], "last": a["last"], "trend": a["trend"]})
    return out
