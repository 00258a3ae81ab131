"""Rotated copies next to a followed file: where the lines a rotation took away are read from.

Standard library only (the forwarder uses it). A mixin of `speleo.ingest.tailing.Tailer`: when a
followed file is truncated or replaced (copytruncate, rename, compression), or was while Speleo
was stopped, the files next to it that a rotation names as its copies (`identity.rotated_siblings`:
`name.1`, `name.1.gz`, `name-DATE`, `name-DATE.gz`, `stem-DATE.ext`) are checked for one that holds
the identity's content up to its checkpoint (same head, same seek hash); the identity moves to it
and reads on. This works when only the file is monitored, or when the rotated names are not
whitelisted. When no copy holds the lines, the loss is counted (`problem`, kind `dropped`).
"""

from __future__ import annotations

import logging
import os

from speleo.ingest.fileio import Skipped, open_regular, read_head
from speleo.ingest.identity import key_length, rotated_siblings

log = logging.getLogger("speleo.monitor")


class RotatedCopies:
    """Finding and following the rotated copy of a followed file (see module doc). Uses the
    tailer's `tracked`, `by_ino`, `checkpoints`, `skip_under`, `_attach`, `_track`,
    `_same_content` and `problem`."""

    def _recover(self, t: Tracked) -> bool:
        """The file of `t` was truncated or left its path: find its rotated copy next to it
        (`name.1`, `name-DATE`, `.gz`) holding its content up to the checkpoint, and read on
        from there. Returns whether one was found."""
        for cand in rotated_siblings(t.path):
            found = self._open_copy(cand, t.key)
            if found is None:
                continue
            fd, st, gz = found
            log.info("%s: reading on from its rotated copy %s", t.path, cand)
            t.recovered = True
            fd = self._attach(t, cand, fd, st, gz)
            if fd is not None:
                os.close(fd)
            return True
        return False

    def _open_copy(self, path: str, key: str) -> tuple[int, os.stat_result, bool] | None:
        try:
            fd, st = open_regular(path, self.skip_under)
        except (OSError, Skipped):
            return None
        try:
            other = self.by_ino.get((st.st_dev, st.st_ino))
            head, gz = read_head(fd, key_length(key))
            if (other is None or other == key) and self._same_content(key, fd, st, head, gz):
                return fd, st, gz
        except (OSError, EOFError):
            pass
        os.close(fd)
        return None

    def _recover_checkpoint(self, key: str, inp: MonitorInput) -> None:
        """At start: the file of checkpoint `key` was rotated while Speleo was stopped (its path
        holds another file). Read on from its rotated copy, or say that lines may be lost."""
        path, offset, _ = self.checkpoints[key]
        for cand in rotated_siblings(path):
            found = self._open_copy(cand, key)
            if found is None:
                continue
            fd, st, gz = found
            try:
                head, _ = read_head(fd, key_length(key))
                t = self._track(key, path, inp, head, gz, fd)
                t.recovered = True
                fd = self._attach(t, cand, fd, st, gz)
            finally:
                if fd is not None:
                    os.close(fd)
            return
        self.problem("dropped", path, f"replaced while Speleo was stopped (rotated or re-created) and no rotated "
                     f"copy next to it holds its content: lines written after byte {offset:,} before that may be lost")

    def _report_gap(self, t: Tracked, unread: int) -> None:
        self.problem("dropped", t.path, f"rotated by copy and truncate; no rotated copy next to it holds the "
                     f"{unread:,} bytes written after byte {t.offset:,} before the truncation: not read")
