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


def report(search, since: float, until: float, index: str = "metrics") -> dict:
    """`{"report": "disks", "since", "until", "index", "drives": [...], "flagged": [...], "truncated"}`.

    `search(spl, earliest, latest, limit)` is the caller's search. Drives are sorted worst risk
    first, then host and device."""
    if not index or any(c in index for c in ' "|[]='):
        raise InputError(f"index '{index}': give an index name")
    res = search(f'index="{index}" sourcetype="smartctl:json" | fields _time host _raw', since, until, MAX_READINGS)
    drives: dict[tuple, list] = {}
    flagged = []
    for ev in res.table.to_pylist():
        t, host = float(ev.get("_time") or 0), ev.get("host") or ""
        try:
            doc = smartdata.parse(str(ev.get("_raw") or ""))
        except smartdata.SmartParseError as e:
            flagged.append({"host": host, "time": t, "reason": f"smartctl document does not parse: {e}"})
            continue
        if "smartctl_parse_error" in doc or "smartctl_error" in doc:
            reason = doc.get("smartctl_parse_error") or doc.get("smartctl_error")
            dev = (doc.get("device") or {}).get("name") if isinstance(doc.get("device"), dict) else None
            flagged.append({"host": host, "time": t, "device": dev, "reason": f"smartctl on the forwarder: {reason}"})
            continue
        s = smartdata.summary(doc)
        drives.setdefault((host, s["device"] or "?", s["serial"] or ""), []).append((t, s))
    out = [_drive(k, sorted(v, key=lambda x: x[0])) for k, v in drives.items()]
    order = {r: i for i, r in enumerate(smartdata.RISKS)}
    out.sort(key=lambda d: (order[d["risk"]], d["host"], d["device"]))
    return {"report": "disks", "since": since, "until": until, "index": index, "drives": out,
            "flagged": sorted(flagged, key=lambda f: f["time"]), "truncated": bool(getattr(res, "truncated", False)),
            "alert_example": ALERT_EXAMPLE}


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
