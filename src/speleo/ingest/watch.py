"""Change notification for followed files: inotify through watchdog, polling as the fallback.

`ChangeWatcher` collects the paths that changed under the watched roots; the tailer reads only
those files (and a full scan now and then) instead of looking at every file every two seconds.
When watchdog or inotify is not available (no module, `fs.inotify.max_user_instances` or
`max_user_watches` reached, a file system without inotify), `error` says why and the tailer
polls as before. Events of opening and closing without writing are ignored: the tailer's own
reads would otherwise wake it up again.
"""

from __future__ import annotations

import logging
import os
import threading

log = logging.getLogger("speleo.monitor")

_IGNORED = {"opened", "closed_no_write"}


class ChangeWatcher:
    """Watches folders (recursively) and single files; `drain()` gives the paths changed and
    removed since its last call."""

    def __init__(self) -> None:
        self.changed: set[str] = set()
        self.removed: set[str] = set()
        self.lock = threading.Lock()
        self.watches: dict[str, object] = {}
        self.error: str | None = None
        self.observer = None
        try:
            from watchdog.observers.inotify import InotifyObserver

            self.observer = InotifyObserver()
            self.observer.daemon = True
            self.observer.start()
        except Exception as e:  # no watchdog, no inotify: polling it is
            self.error = f"{type(e).__name__}: {e}"
            self.observer = None

    @property
    def alive(self) -> bool:
        """Whether notification works: an inotify that cannot start (no instances left) fails
        in watchdog's emitter thread, which then is dead."""
        if self.observer is None or self.error is not None:
            return False
        try:
            dead = [e for e in self.observer.emitters if not e.is_alive()]
        except Exception:  # another watchdog: trust it
            return True
        if dead:
            self.error = "inotify could not start (fs.inotify.max_user_instances or max_user_watches reached?)"
            log.warning("change notification off, polling instead: %s", self.error)
        return not dead

    def sync(self, roots: list[str]) -> None:
        """Watch each root (a folder recursively; a file through its folder) and no others."""
        if not self.alive:
            return
        wanted = {}
        for root in roots:
            folder = root if os.path.isdir(root) else os.path.dirname(root)
            wanted[folder] = os.path.isdir(root)
        for folder in list(self.watches):
            if folder not in wanted:
                self.observer.unschedule(self.watches.pop(folder))
        for folder, recursive in wanted.items():
            if folder in self.watches or not os.path.isdir(folder):
                continue
            try:
                self.watches[folder] = self.observer.schedule(_Handler(self), folder, recursive=recursive)
            except OSError as e:  # inotify limits: fall back to polling, say so
                self.error = f"cannot watch {folder}: {e}"
                log.warning("change notification off, polling instead: %s", self.error)

    def note(self, changed: str | bytes | None, removed: str | bytes | None = None) -> None:
        with self.lock:
            if changed:
                self.changed.add(os.fsdecode(changed))
            if removed:
                self.removed.add(os.fsdecode(removed))

    def drain(self) -> tuple[set[str], set[str]]:
        """(paths changed or created, paths deleted or renamed away) since the last call."""
        with self.lock:
            out = (self.changed, self.removed)
            self.changed, self.removed = set(), set()
        return out

    def stop(self) -> None:
        if self.observer is not None:
            try:
                self.observer.stop()
                self.observer.join(timeout=5)
            except Exception:  # stopping must not fail a shutdown
                pass
            self.observer = None


try:
    from watchdog.events import FileSystemEventHandler as _Base
except Exception:  # pragma: no cover - watchdog missing: the watcher reports it and is unused
    _Base = object


class _Handler(_Base):
    def __init__(self, watcher: ChangeWatcher) -> None:
        self.watcher = watcher

    def on_any_event(self, event) -> None:
        if event.event_type in _IGNORED or (event.is_directory and event.event_type == "modified"):
            return   # a folder "modified": one of its files was created or removed, and says so itself
        if event.event_type == "deleted":
            self.watcher.note(None, event.src_path)
        elif event.event_type == "moved":
            self.watcher.note(event.dest_path, event.src_path)
        else:
            self.watcher.note(event.src_path)
