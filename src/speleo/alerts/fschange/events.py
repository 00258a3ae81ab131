"""Changes as events in the shape of Splunk's fschange events.

`_raw` is one key=value line after a time stamp, as Splunk writes it, so searches written for
Splunk (`action=update path=*.conf`, `modtime` parsed with `%a %b %d %H:%M:%S %Y`) work:

    Fri Dec 04 07:50:00 2026 action=update, path="/opt/app/run.sh", isdir=0, size=2048, uid=0,
    gid=0, modtime="Fri Dec 04 07:49:58 2026", mode="rwxr-xr-x", hash=9f86d0..., changed="content,mtime"

The same keys are indexed fields (`_fields`, as HEC fields are), so `index=fim action=renamed`
needs no extraction. Source: Splunk inputs.conf.spec `[fschange:<path>]` (sourcetype
`fs_notification`, or `audittrail` in `_audit` with `signedaudit=true`); the extra keys
(`old_path`, `old_hash`, `old_size`, `old_mode`, `inode`, `type`, `target`, `hash_algo`,
`fim_input`) follow Speleo's spec (splunk-features.md 2.4).
"""

from __future__ import annotations

import json
import stat
import time
from typing import Iterable

import pyarrow as pa

from speleo.alerts.fschange.changes import Change
from speleo.alerts.fschange.scanner import display
from speleo.ingest.internal import quote_value
from speleo.storage.schema import with_origin

SOURCETYPE = "fs_notification"
SIGNED_SOURCETYPE = "audittrail"
MODTIME_FORMAT = "%a %b %d %H:%M:%S %Y"
BARE_KEYS = frozenset({"action", "isdir", "size", "uid", "gid", "hash", "old_hash", "old_size", "inode"})


def modtime(ns: int) -> str:
    """A time in nanoseconds as Splunk's fschange `modtime` (local time of the machine)."""
    return time.strftime(MODTIME_FORMAT, time.localtime(ns / 1e9))


def permissions(mode: int) -> str:
    """`rwxr-xr-x` (with s/t bits) of an `st_mode`."""
    return stat.filemode(mode)[1:]


def change_fields(c: Change, hash_algo: str, input_name: str) -> dict[str, str]:
    """The fields of one change event, in Splunk's order, then Speleo's extra keys."""
    e = c.entry
    f: dict[str, str] = {
        "action": c.action,
        "path": display(c.path),
        "isdir": "1" if e.isdir else "0",
        "size": str(e.size),
        "uid": str(e.uid),
        "gid": str(e.gid),
        "modtime": modtime(e.mtime_ns),
        "mode": permissions(e.mode),
    }
    if e.hash:
        f["hash"] = e.hash
    if c.changed:
        f["changed"] = ",".join(c.changed)
    if c.old_path:
        f["old_path"] = display(c.old_path)
    if c.old is not None and c.action in ("update", "renamed"):
        if c.old.hash and c.old.hash != e.hash:
            f["old_hash"] = c.old.hash
        if c.old.size != e.size:
            f["old_size"] = str(c.old.size)
        if stat.S_IMODE(c.old.mode) != stat.S_IMODE(e.mode):
            f["old_mode"] = permissions(c.old.mode)
    f["type"] = e.kind
    if e.target is not None:
        f["target"] = display(e.target)
    f["inode"] = str(e.inode)
    if e.hash:
        f["hash_algo"] = hash_algo
    f["fim_input"] = input_name
    return f


def render_raw(at: float, fields: dict[str, str]) -> str:
    """`<time> key=value, key="text", ...` as Splunk's fs_notification events."""
    parts = []
    for k, v in fields.items():
        if k in BARE_KEYS:
            parts.append(f"{k}={v}")
        else:
            parts.append(f'{k}="{quote_value(v)}"')
    return time.strftime(MODTIME_FORMAT, time.localtime(at)) + " " + ", ".join(parts)


def events_table(rows: Iterable[dict[str, str]], at: float, *, index: str, host: str, source: str,
                 sourcetype: str) -> pa.Table:
    """Events of the store's schema (`_time` = `at`, the detection time, epoch seconds UTC)."""
    rows = list(rows)
    n = len(rows)
    parsed = pa.table({
        "_time": pa.array([at] * n, pa.float64()),
        "_raw": pa.array([render_raw(at, r) for r in rows], pa.string()),
        "linecount": pa.array([1] * n, pa.int32()),
        "_offset": pa.array([-1] * n, pa.int64()),
        "_flags": pa.array([""] * n, pa.string()),
        "_fields": pa.array([json.dumps(r, ensure_ascii=False) for r in rows], pa.string()),
    })
    return with_origin(parsed, index=index, host=host, source=source, sourcetype=sourcetype,
                       indextime=time.time())
