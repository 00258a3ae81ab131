"""Batches the receiver refused for good: set aside in `<home>/deadletter/`, never retried.

A HEC answer in the 4xx range that sending again cannot change (Splunk's "Incorrect index",
"Invalid data format", "No data"...: codes 5-7, 12, 13, 15) means the batch itself is wrong for
this receiver. Retrying it for ever would block every later record of the queue, so the sender
writes it here and moves on; answers that time or an administrator can fix (401/403 a bad or
disabled token, 408, 413, 429, a missing channel) are retried as before.

One JSON object per line in `refused.jsonl` (appended, fsynced before the queue moves past it):
`time` (epoch seconds UTC), `status` (HTTP), `code` (HEC), `reason` (the receiver's text),
`path` (the HEC endpoint with its query: host, source, sourcetype, index), `events`, `records`
([first, last] queue record ids) and the payload, `body` (UTF-8 text) or `body_base64` when the
bytes are not UTF-8. Send it again after fixing the cause, e.g. for a raw batch:
`jq -r .body refused.jsonl | curl --data-binary @- -H "Authorization: Splunk $T" "$URL$path"`.
"""

from __future__ import annotations

import base64
import json
import os
import threading
import time
from pathlib import Path

from speleo.storage.durable import fsync_dir

# HTTP statuses a later try may turn into a success (credentials, timeouts, size, rate).
RETRYABLE_STATUSES = frozenset({401, 403, 408, 409, 413, 429})
# HEC codes about the connection rather than the batch: 10/11 channel, 14 ack disabled, 16 query auth.
RETRYABLE_CODES = frozenset({1, 2, 3, 4, 10, 11, 14, 16})
FILE_NAME = "refused.jsonl"


def refused_for_good(status: int, code) -> bool:
    """Whether a HEC answer refuses the batch itself (set it aside) rather than the connection."""
    if not 400 <= status < 500 or status in RETRYABLE_STATUSES:
        return False
    return not (isinstance(code, int) and code in RETRYABLE_CODES)


class DeadLetters:
    """The append-only file of refused batches of one forwarder home (see module doc)."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.path = self.folder / FILE_NAME
        self.lock = threading.Lock()

    def add(self, *, status: int, code, reason: str, path: str, events: int, first: int, last: int,
            body: bytes, now: float | None = None) -> None:
        """Append one refused batch and fsync it (raises OSError when the disk refuses)."""
        rec = {"time": time.time() if now is None else now, "status": status, "code": code, "reason": reason,
               "path": path, "events": events, "records": [first, last]}
        try:
            rec["body"] = body.decode("utf-8")
        except UnicodeDecodeError:
            rec["body_base64"] = base64.b64encode(body).decode("ascii")
        line = (json.dumps(rec, separators=(",", ":")) + "\n").encode()
        with self.lock:
            new_folder = not self.folder.exists()
            self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            try:
                view = memoryview(line)
                while view:
                    view = view[os.write(fd, view):]
                os.fsync(fd)
            finally:
                os.close(fd)
            if new_folder:
                fsync_dir(self.folder.parent)
            fsync_dir(self.folder)
