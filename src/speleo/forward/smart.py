"""Disk health from smartmontools: `smartctl --json -a` per drive, as events (sourcetype
`smartctl:json`, the forwarder's metrics index).

Off when `smartctl` is not on the PATH (or not given). Bounded: at most `max_drives` drives
(from `smartctl --scan-open --json`), each call killed after `timeout` seconds, at most
`max_bytes` of output kept. It never raises: a drive that cannot be read gives an event with
`smartctl_error` (why); output that does not parse gives an event with `smartctl_parse_error`
and the first 64 KiB of the output in `raw` (flagged, kept, not dropped). A parsed document is
sent whole, plus a flat `speleo_smart` member with its failure predictors
(`speleo.smartdata.summary`) so that alerts can be plain SPL, e.g.
`sourcetype=smartctl:json | stats max(speleo_smart.pending_sectors) by host speleo_smart.device`.

smartctl's exit status is a bit field (smartctl(8) "RETURN VALUES"): bits 0-1 mean the command
line or the device open failed; the others report the drive's state, and the JSON is still
printed, so only a missing or unparseable output is an error here.
"""

from __future__ import annotations

import json
import shutil
import subprocess

from speleo import smartdata

KEEP_RAW = 64 * 1024


class SmartCollector:
    """Collects the smartctl documents of this machine's drives (see module doc)."""

    def __init__(self, smartctl: str | None = None, timeout: float = 20.0, max_drives: int = 32,
                 max_bytes: int = 1024 * 1024) -> None:
        self.smartctl = smartctl if smartctl is not None else shutil.which("smartctl")
        self.timeout, self.max_drives, self.max_bytes = timeout, max_drives, max_bytes
        self.errors = 0   # calls that failed, timed out or did not parse (shown in forward status)
        self.last_error: str | None = None

    @property
    def enabled(self) -> bool:
        return bool(self.smartctl)

    def _run(self, args: list[str]) -> tuple[str | None, str | None]:
        """(stdout, None) or (None, why)."""
        try:
            p = subprocess.run([self.smartctl, *args], capture_output=True, timeout=self.timeout)
        except subprocess.TimeoutExpired:
            return None, f"timed out after {self.timeout:g} s"
        except OSError as e:
            return None, f"cannot run {self.smartctl}: {e.strerror or e}"
        out = p.stdout[: self.max_bytes].decode("utf-8", "replace")
        if not out.strip():
            return None, f"no output (exit status {p.returncode}): {p.stderr[:300].decode('utf-8', 'replace').strip()}"
        return out, None

    def devices(self) -> list[tuple[str, str | None]]:
        """(name, type) of each drive smartctl finds, at most `max_drives`."""
        text, why = self._run(["--scan-open", "--json"])
        if text is None:
            self.errors += 1
            self.last_error = f"smartctl --scan-open: {why}"
            return []
        try:
            found = json.loads(text).get("devices") or []
        except (ValueError, AttributeError):
            self.errors += 1
            return []
        out = []
        for d in found[: self.max_drives]:
            if isinstance(d, dict) and isinstance(d.get("name"), str):
                out.append((d["name"], d.get("type") if isinstance(d.get("type"), str) else None))
        return out

    def read(self, name: str, dtype: str | None = None) -> dict:
        """The event of one drive (see module doc)."""
        args = ["--json", "-a", *(["-d", dtype] if dtype else []), name]
        text, why = self._run(args)
        if text is None:
            self.errors += 1
            self.last_error = f"{name}: {why}"
            return {"smartctl_error": why, "device": {"name": name, "type": dtype}}
        try:
            doc = smartdata.parse(text)
        except smartdata.SmartParseError as e:
            self.errors += 1
            return {"smartctl_parse_error": str(e), "device": {"name": name, "type": dtype}, "raw": text[:KEEP_RAW]}
        doc["speleo_smart"] = smartdata.summary(doc)
        return doc

    def collect(self) -> list[dict]:
        """One event per drive; [] when off. Never raises."""
        if not self.enabled:
            return []
        try:
            return [self.read(n, t) for n, t in self.devices()]
        except Exception as e:  # noqa: BLE001  (the forwarder must never fail for disk health)
            self.errors += 1
            return [{"smartctl_error": f"{type(e).__name__}: {e}"}]
