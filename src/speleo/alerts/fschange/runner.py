"""One fschange input at work: scan, compare with the baseline, emit, store.

`FsChangeInput.start()` settles a batch interrupted by a crash (see `state`), then every
`scan()` (full, or of some `Scope`s after inotify events) emits the changes found in batches of
`BATCH_CHANGES`, each through the commit protocol. The first scan of an input records the
baseline: one summary event in `_internal` (sourcetype `fschange`) instead of one `add` per
existing file, unless the input asks for Splunk's behaviour (`emit_baseline`). Later full scans
write their summary there too when they found changes or problems, and the first after a start.
"""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass, field
from pathlib import Path

from speleo.alerts.fschange.changes import Change, Diff, diff
from speleo.alerts.fschange.events import SIGNED_SOURCETYPE, SOURCETYPE, change_fields, events_table
from speleo.alerts.fschange.scanner import Entry, Problem, Scanner, Scope, display
from speleo.alerts.fschange.state import InputState, checkpoint_key, state_path
from speleo.clock import Clock, SystemClock

BATCH_CHANGES = 5000
MAX_PROBLEMS_LISTED = 1000


@dataclass
class ScanReport:
    """What one scan did (for `_internal`, `speleo fschange list` and tests)."""

    input_id: int
    kind: str                      # baseline | full | partial
    files: int = 0
    changes: int = 0
    by_action: dict = field(default_factory=dict)
    hashed: int = 0
    problems: int = 0
    seconds: float = 0.0

    def as_fields(self, path: str) -> dict:
        return {"input": self.input_id, "path": path, "scan": self.kind, "files": self.files,
                "changes": self.changes, **{f"changes_{k}": v for k, v in sorted(self.by_action.items())},
                "hashed": self.hashed, "problems": self.problems, "seconds": round(self.seconds, 3)}


class FsChangeInput:
    """The scanning side of one input row of the catalog (`id`, `path`, `index`...)."""

    def __init__(self, row: dict, home_root: Path, store, catalog, internal=None, clock: Clock | None = None) -> None:
        self.id = int(row["id"])
        self.root = row["path"]
        self.state = InputState(state_path(home_root, self.id))
        self.settings = self.state.settings
        self.index = "_audit" if self.settings.signedaudit else row["index"]
        self.sourcetype = SIGNED_SOURCETYPE if self.settings.signedaudit else (row.get("sourcetype") or SOURCETYPE)
        self.host = row.get("host") or socket.gethostname()
        self.name = f"fschange:{self.root}"
        self.store = store
        self.catalog = catalog
        self.internal = internal
        self.clock = clock or SystemClock()
        self.scanner = Scanner(self.root, self.settings, skip_under=str(home_root.resolve()))
        self.entries: dict[str, Entry] = {}
        self.reported: set[Problem] = set()
        self.recovered: str | None = None
        self.full_scans = 0

    def start(self) -> None:
        """Settle an interrupted batch (the catalog says whether its events were journaled)."""
        row = self.catalog.query("SELECT offset FROM checkpoints WHERE fingerprint = ?", (checkpoint_key(self.id),))
        self.recovered = self.state.recover(int(row[0][0]) if row else 0)
        self.entries = self.state.load()

    def _settle(self) -> None:
        """After a batch failed in this process (a journal or state write raised): seal the
        journal so that the catalog knows whether the batch's record is durable, then settle it
        as at a restart. Its changes are then either applied or found again by the next scan."""
        self.store.seal()
        self.start()

    def close(self) -> None:
        self.state.close()

    # -- scanning --------------------------------------------------------------------
    def scan(self, scopes: list[Scope] | None = None) -> ScanReport:
        """Scan (everything, or `scopes`), emit the changes, store the new baseline."""
        t0 = time.monotonic()
        if self.state.has_pending:
            self._settle()
        has_baseline = self.state.has_baseline   # read once: only this scan writes it
        if not has_baseline:
            scopes = None
        res = self.scanner.scan(self.entries, scopes)
        if not has_baseline and not self.settings.emit_baseline:
            report = self._baseline(res.entries)
        else:
            in_scope = None if scopes is None else (lambda p: any(s.covers(p) for s in scopes))
            d = diff(self.entries, res.entries, in_scope, keep=res.unlisted)
            report = ScanReport(self.id, "full" if scopes is None else "partial", len(res.entries))
            self._emit(d, report)
            if not has_baseline:
                self.state.write_baseline(self.entries, self.clock.time())
                report.kind = "baseline"
        report.hashed = res.hashed
        report.problems = len(res.problems)
        report.seconds = time.monotonic() - t0
        self._report_problems(res.problems)
        if scopes is None:
            report.files = len(self.entries)
            self.state.note_scan({**report.as_fields(self.root), "at": self.clock.time()})
            if report.kind == "baseline" or report.changes or report.problems or not self.full_scans:
                self._internal(report)   # a quiet periodic rescan writes nothing (short poll periods)
            self.full_scans += 1
        return report

    def _baseline(self, entries: dict[str, Entry]) -> ScanReport:
        self.state.write_baseline(entries, self.clock.time())
        self.entries = dict(entries)
        return ScanReport(self.id, "baseline", len(entries))

    def _emit(self, d: Diff, report: ScanReport) -> None:
        changed_paths: set[str] = set()
        for i in range(0, len(d.changes), BATCH_CHANGES):
            batch = d.changes[i:i + BATCH_CHANGES]
            puts, deletes = batch_delta(batch)
            changed_paths.update(puts)
            changed_paths.update(deletes)
            seq = self.state.begin(puts, deletes)
            at = self.clock.time()
            rows = [change_fields(c, self.settings.hash_algo, self.name) for c in batch]
            table = events_table(rows, at, index=self.index, host=self.host, source=self.name,
                                 sourcetype=self.sourcetype)
            self.store.append(table, {checkpoint_key(self.id): (self.root, seq)})
            self.state.commit(seq)
            for p in deletes:
                self.entries.pop(p, None)
            self.entries.update(puts)
            for c in batch:
                report.by_action[c.action] = report.by_action.get(c.action, 0) + 1
            report.changes += len(batch)
        silent = {p: e for p, e in d.puts.items() if p not in changed_paths}
        if silent:
            self.state.apply(silent, ())
            self.entries.update(silent)

    def _report_problems(self, problems: list[Problem]) -> None:
        """Count each problem once (per path and reason) in the catalog's problems."""
        new = [p for p in problems if p not in self.reported]
        if not new:
            return
        listed = new[:max(0, MAX_PROBLEMS_LISTED - len(self.reported))]
        self.reported.update(listed)
        counters = [("fschange", display(p.path), p.reason, 1) for p in listed]
        if len(new) > len(listed):
            counters.append(("fschange", self.root, "more problems than listed (see the scan summaries)", len(new) - len(listed)))
        self.store.append(events_table([], 0, index=self.index, host=self.host, source=self.name,
                                       sourcetype=self.sourcetype), None, counters)

    def _internal(self, report: ScanReport) -> None:
        if self.internal is not None:
            self.internal.emit("_internal", "fschange", report.as_fields(self.root), source=self.name)


def batch_delta(batch: list[Change]) -> tuple[dict[str, Entry], list[str]]:
    """The state puts and deletes that a batch of changes makes."""
    puts: dict[str, Entry] = {}
    deletes: list[str] = []
    for c in batch:
        if c.action == "delete":
            deletes.append(c.path)
        else:
            puts[c.path] = c.entry
            if c.old_path:
                deletes.append(c.old_path)
    return puts, deletes
