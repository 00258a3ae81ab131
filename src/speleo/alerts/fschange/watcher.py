"""The server's fschange loop: every input of the catalog, rescanned on inotify events and
every `pollPeriod`.

At start each input settles a batch interrupted by a crash, then scans its whole tree: what
changed while the server was down is reported. Afterwards, inotify (through watchdog) names the
paths that moved; after `DEBOUNCE_SECS` of quiet (or `MAX_DELAY_SECS`) only the folders around
them are rescanned. The queue of named paths is bounded (`MAX_PENDING_PATHS`): past it, the
next pass rescans the whole tree instead. When inotify cannot watch a tree (no inotify, the
watch limit reached) the input is polled only, and the reason is counted in `speleo status`.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path

from speleo.alerts.fschange.runner import FsChangeInput
from speleo.alerts.fschange.scanner import Scope
from speleo.clock import Clock, SystemClock

log = logging.getLogger("speleo.fschange")

DEBOUNCE_SECS = 0.3
MAX_DELAY_SECS = 2.0
MAX_PENDING_PATHS = 10_000
RELOAD_SECS = 2.0
MAX_SCOPES = 64          # more folders touched at once: one full rescan is cheaper than many partial ones
TICK_SECS = 0.2
RETRY_SECS = 30.0


class PathQueue:
    """Paths named by inotify since the last pass, each with whether its folder must be listed
    again (created, deleted, moved) or only the path itself (written, chmod); bounded
    (overflow → one full rescan)."""

    def __init__(self, limit: int = MAX_PENDING_PATHS) -> None:
        self.limit = limit
        self.paths: dict[str, bool] = {}
        self.overflow = False
        self.first_at = 0.0
        self.last_at = 0.0
        self.lock = threading.Lock()

    def put(self, path: str, alone: bool = False) -> None:
        """Queue `path`; `alone`: only its own attributes (and a folder's entries) may have changed."""
        with self.lock:
            self._touched()
            if self.overflow:
                return
            if len(self.paths) >= self.limit and path not in self.paths:
                self.overflow = True
                self.paths.clear()
            else:
                self.paths[path] = self.paths.get(path, False) or not alone

    def lost(self) -> None:
        """Events were dropped before reaching us (kernel queue overflow): rescan everything."""
        with self.lock:
            self._touched()
            self.overflow = True
            self.paths.clear()

    def _touched(self) -> None:
        """Note an event's arrival (lock held): the first of a pass starts its delay."""
        now = time.monotonic()
        if not self.paths and not self.overflow:
            self.first_at = now
        self.last_at = now

    def take(self, now: float) -> tuple[dict[str, bool], bool] | None:
        """The queued paths (path → its folder must be listed) and the overflow flag, once quiet
        or old enough; else None."""
        with self.lock:
            if not self.paths and not self.overflow:
                return None
            if now - self.last_at < DEBOUNCE_SECS and now - self.first_at < MAX_DELAY_SECS:
                return None
            out = (self.paths, self.overflow)
            self.paths, self.overflow = {}, False
            return out


def scopes_for(paths: dict[str, bool], root: str, old_dirs: set[str]) -> list[Scope]:
    """The parts of the tree to rescan for paths inotify named. A created, deleted or moved path:
    its folder's direct entries, and the path with everything under it when it is (or was) a
    folder. A written or chmod'ed path: itself (a folder: its direct entries too)."""
    scopes: dict[tuple[str, bool], Scope] = {}
    dirs: set[str] = set()
    prefix = root.rstrip("/") + "/"
    for p, with_parent in paths.items():
        if p != root and not p.startswith(prefix):
            continue
        is_dir = p in old_dirs or (os.path.isdir(p) and not os.path.islink(p))
        if is_dir:
            dirs.add(p)
        if p == root or not with_parent:
            scopes[(p, False)] = Scope(p, False)
            continue
        parent = os.path.dirname(p)
        dirs.add(parent)
        scopes[(parent, False)] = Scope(parent, False)
        if is_dir:
            scopes[(p, True)] = Scope(p, True)

    def covered(s: Scope) -> bool:
        for r in scopes.values():
            if r is s or not r.covers(s.path):
                continue
            if r.recursive or (not s.recursive and s.path not in dirs):   # a file inside a listed folder
                return True
        return False

    return [s for s in scopes.values() if not covered(s)]


class FsChangeWatcher:
    """Runs every enabled fschange input of a home in one thread (`run` until `stop` is set)."""

    def __init__(self, home_root: Path, catalog, store, internal=None, clock: Clock | None = None,
                 use_inotify: bool = True) -> None:
        self.home_root = home_root
        self.catalog = catalog
        self.store = store
        self.internal = internal
        self.clock = clock or SystemClock()
        self.use_inotify = use_inotify
        self.inputs: dict[int, FsChangeInput] = {}
        self.queues: dict[int, PathQueue] = {}
        self.next_full: dict[int, float] = {}
        self.watches: dict[int, object] = {}
        self.observer = None
        self.last_reload = 0.0
        self.missing: set[int] = set()
        self.failed_until: dict[int, float] = {}
        self.rewatch_at: dict[int, float] = {}   # inputs without a watch: when to try again
        self.home_prefix = str(home_root.resolve()).rstrip("/") + "/"

    # -- inputs ----------------------------------------------------------------------
    def rows(self) -> list[dict]:
        rows = self.catalog.query(
            "SELECT id, path, index_name, sourcetype, host FROM inputs WHERE kind = 'fschange' AND disabled = 0")
        return [dict(zip(("id", "path", "index", "sourcetype", "host"), r)) for r in rows]

    def reload(self) -> None:
        """Start inputs added to the catalog, stop removed ones."""
        rows = {r["id"]: r for r in self.rows()}
        for gone in set(self.inputs) - set(rows):
            self._unwatch(gone)
            self.inputs.pop(gone).close()
        for iid, row in rows.items():
            if iid in self.inputs:
                continue
            if not os.path.isdir(row["path"]):
                if iid not in self.missing:
                    self.missing.add(iid)
                    self._problem(row["path"], "watched folder is missing; retried every few seconds")
                continue
            self.missing.discard(iid)
            if time.monotonic() < self.failed_until.get(iid, 0.0):
                continue
            inp = None
            try:
                inp = FsChangeInput(row, self.home_root, self.store, self.catalog, self.internal, self.clock)
                inp.start()
            except Exception as e:
                if inp is not None:
                    inp.close()   # a damaged state file: this input waits, the others run
                log.exception("fschange input %s (%s) cannot start", iid, row["path"])
                self.failed_until[iid] = time.monotonic() + RETRY_SECS
                self._problem(row["path"], f"cannot start ({type(e).__name__}: {e}); retried every {RETRY_SECS:g} s")
                continue
            self.inputs[iid] = inp
            self.queues[iid] = PathQueue()
            self._watch(inp)
            self.next_full[iid] = 0.0   # a full scan now: what changed while the server was down

    def _watch(self, inp: FsChangeInput) -> None:
        if not self.use_inotify:
            return
        try:
            from watchdog.events import FileSystemEventHandler
            from watchdog.observers import Observer

            queue = self.queues[inp.id]
            home = self.home_prefix

            class Handler(FileSystemEventHandler):
                def on_any_event(self, event) -> None:
                    if event.event_type in ("opened", "closed_no_write"):
                        return
                    if event.event_type == "events_lost":   # the kernel's inotify queue overflowed
                        queue.lost()
                        return
                    alone = event.event_type in ("modified", "attrib", "closed")   # no entry came or went
                    for raw in (event.src_path, getattr(event, "dest_path", "")):
                        path = os.fsdecode(raw)
                        if path and not (path + "/").startswith(home):   # Speleo's own writes
                            queue.put(path, alone)

            if self.observer is None:
                self.observer = Observer()
                self.observer.daemon = True
                self.observer.start()
            self.watches[inp.id] = self.observer.schedule(Handler(), inp.root, recursive=inp.settings.recurse)
        except Exception as e:   # no inotify, or the watch limit: polling still works
            self._problem(inp.root, f"inotify unavailable ({type(e).__name__}: {e}); polled every "
                                    f"{inp.settings.poll_period_secs:g} s only")

    def _check_watches(self) -> None:
        """Replace inotify watches that no longer deliver events, and rescan their trees (changes
        made while no event could arrive are found by the full scan). watchdog's observer thread
        (dispatching to our handlers) and its emitter threads (one per watch) both end silently
        on an error, after which no event would ever arrive again."""
        now = time.monotonic()
        for iid, inp in self.inputs.items():     # a watch that could not be made (the folder was
            if (self.use_inotify and iid not in self.watches and now >= self.rewatch_at.get(iid, 0.0)
                    and os.path.isdir(inp.root)):   # gone, the watch limit): tried again now and then
                self.rewatch_at[iid] = now + RETRY_SECS
                self._watch(inp)
                if iid in self.watches:
                    self.next_full[iid] = 0.0
        if not self.watches or self.observer is None:
            return
        if not self.observer.is_alive():
            dead = list(self.watches)
            self.watches.clear()
            old, self.observer = self.observer, None     # a new one is started by _watch
            try:
                old.stop()           # its emitter threads and inotify handles go with it
            except Exception:
                pass
        else:
            try:
                emitters = self.observer._emitter_for_watch     # watchdog 2-7: one emitter per watch
            except AttributeError:   # another watchdog: trust it
                return
            dead = [iid for iid, w in self.watches.items()
                    if (e := emitters.get(w)) is None or not e.is_alive()]
            for iid in dead:
                self._unwatch(iid)
        for iid in dead:
            inp = self.inputs.get(iid)
            if inp is None:
                continue
            self._problem(inp.root, "inotify stopped delivering events; watched again and the tree rescanned")
            log.warning("fschange input %s (%s): inotify watch ended; watching again", iid, inp.root)
            self._watch(inp)
            self.next_full[iid] = 0.0

    def _unwatch(self, iid: int) -> None:
        watch = self.watches.pop(iid, None)
        if watch is not None and self.observer is not None:
            try:
                self.observer.unschedule(watch)
            except Exception:
                pass

    def _problem(self, source: str, reason: str) -> None:
        self.catalog.count_problem("fschange", source, reason)

    # -- the loop --------------------------------------------------------------------
    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            self.tick()
            self.clock.wait(stop, TICK_SECS)

    def tick(self) -> None:
        """One pass: reload inputs every few seconds, then scan what is due."""
        now = time.monotonic()
        if now - self.last_reload >= RELOAD_SECS or not self.last_reload:
            self.last_reload = now
            self.reload()
            self._check_watches()
        for iid, inp in list(self.inputs.items()):
            if now < self.failed_until.get(iid, 0.0):
                continue
            try:
                self._pass(iid, inp, now)
            except Exception as e:   # one broken input never stops the others; retried later
                log.exception("fschange input %s (%s) failed", iid, inp.root)
                self.failed_until[iid] = now + RETRY_SECS
                self.next_full[iid] = 0.0   # a full rescan once it works again
                self._problem(inp.root, f"scan failed ({type(e).__name__}: {e}); retried every {RETRY_SECS:g} s")

    def _pass(self, iid: int, inp: FsChangeInput, now: float) -> None:
        wall = self.clock.time()
        if wall >= self.next_full[iid]:
            self.queues[iid].take(float("inf"))   # a full scan covers whatever was queued
            inp.scan()
            self.next_full[iid] = self.clock.time() + inp.settings.poll_period_secs
            return
        taken = self.queues[iid].take(now)
        if taken is None:
            return
        paths, overflow = taken
        if overflow:
            self._problem(inp.root, "inotify queue overflow: the whole tree was rescanned")
            inp.scan()
            return
        old_dirs = {p for p in paths if (e := inp.entries.get(p)) is not None and e.isdir}
        scopes = scopes_for(paths, inp.root, old_dirs)
        if len(scopes) > MAX_SCOPES:
            inp.scan()
        elif scopes:
            inp.scan(scopes)

    def status(self) -> list[dict]:
        """Each running input: how it is watched (inotify or polling), paths queued, seconds to
        the next full rescan (for the server's status)."""
        now = self.clock.time()
        return [{"input": iid, "path": inp.root, "watch": "inotify" if iid in self.watches else "polling",
                 "queued_paths": len(self.queues[iid].paths), "overflow": self.queues[iid].overflow,
                 "next_full_scan_secs": round(max(0.0, self.next_full.get(iid, 0.0) - now), 1)}
                for iid, inp in list(self.inputs.items())]

    def close(self) -> None:
        if self.observer is not None:
            self.observer.stop()
            self.observer.join(timeout=5)
        for inp in self.inputs.values():
            inp.close()
