"""The forwarder's checkpoint store: one small JSON file, replaced atomically.

`state.json` holds `acked` (the id of the last queue record the receiver acknowledged: every
record up to it is delivered), `checkpoints` (file identity key -> [path, offset] covered by
those records) and `idents` (file identity key -> device/inode and seek hash, see
`speleo.ingest.identity`). All change in the same write (temp file, fsync, rename, fsync of the folder),
so a crash leaves either the old or the new state, never a mix.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from speleo.storage.durable import fsync_dir, write_atomic  # noqa: F401 (fsync_dir: used by forward.queue)


class CheckpointStore:
    """Acknowledged queue position and file checkpoints of one forwarder home."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.acked = 0
        self.checkpoints: dict[str, tuple[str, int]] = {}
        self.events_acked = 0
        if path.exists():
            raw = json.loads(path.read_text() or "{}")
            self.acked = int(raw.get("acked", 0))
            self.events_acked = int(raw.get("events_acked", 0))
            idents = raw.get("idents", {})
            self.checkpoints = {k: (p, int(o), idents[k]) if k in idents else (p, int(o))
                                for k, (p, o) in raw.get("checkpoints", {}).items()}

    def commit(self, acked: int, checkpoints: dict[str, tuple[str, int]], events: int) -> None:
        """Records up to `acked` are delivered; `checkpoints` (their file positions) now hold."""
        merged = dict(self.checkpoints)
        merged.update(checkpoints)
        body = {"acked": acked, "events_acked": self.events_acked + events,
                "checkpoints": {k: [v[0], v[1]] for k, v in merged.items()},
                "idents": {k: v[2] for k, v in merged.items() if len(v) > 2 and v[2]}}
        write_atomic(self.path, json.dumps(body, separators=(",", ":")).encode())
        self.acked, self.checkpoints, self.events_acked = acked, merged, body["events_acked"]
