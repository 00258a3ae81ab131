"""No file of the repository keeps a merge's conflict markers (a merge once committed them into
docs/architecture.md and docs/spl.md unnoticed)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MARKER = re.compile(r"^(<<<<<<< |>>>>>>> )", re.MULTILINE)


def test_no_conflict_markers_in_tracked_files():
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout.split(b"\0")
    found = []
    for name in filter(None, files):
        path = ROOT / name.decode()
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, FileNotFoundError, IsADirectoryError):
            continue
        for m in MARKER.finditer(text):
            found.append(f"{name.decode()}:{text.count(chr(10), 0, m.start()) + 1}")
    assert not found, found
