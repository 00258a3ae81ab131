"""Registering fschange inputs: one row of the catalog's `inputs` table (kind `fschange`: path,
index, sourcetype, host, disabled) plus the input's state file, which holds its settings."""

from __future__ import annotations

import os
import time
from pathlib import Path

from speleo.alerts.fschange.events import SIGNED_SOURCETYPE, SOURCETYPE
from speleo.alerts.fschange.settings import FsChangeSettings
from speleo.alerts.fschange.state import InputState, state_path
from speleo.config import check_index_name
from speleo.errors import ConflictError, InputError, NotFoundError

KIND = "fschange"


def add_input(svc, path: str, index: str, settings: FsChangeSettings, sourcetype: str | None = None,
              host: str | None = None) -> int:
    """Register an fschange input over the folder `path`; returns its id.

    Raises InputError (no such folder, inside Speleo's home, bad index) or ConflictError (the
    same folder into the same index already has one)."""
    if settings.signedaudit:   # Splunk inputs.conf.spec: signed events go to _audit as audittrail
        index, sourcetype = "_audit", SIGNED_SOURCETYPE
    else:
        check_index_name(index)
        sourcetype = sourcetype or SOURCETYPE
    full = os.path.realpath(os.path.expanduser(path))
    if not os.path.isdir(full):
        raise InputError(f"{full}: not a folder (an fschange input watches a folder and everything under it)")
    svc.check_input_path(full)
    svc.catalog.ensure_index(index)
    try:
        with svc.catalog.transaction() as con:
            cur = con.execute(
                "INSERT INTO inputs(kind, path, index_name, sourcetype, host, created) VALUES (?, ?, ?, ?, ?, ?)",
                (KIND, full, index, sourcetype, host, time.time()),
            )
            input_id = int(cur.lastrowid)
            st = InputState(state_path(svc.home.root, input_id))   # inside the transaction: both or neither
            try:
                st.save_settings(settings)
            finally:
                st.close()
            return input_id
    except Exception as e:
        if "UNIQUE" in str(e):
            raise ConflictError(f"an fschange input for {full} into index '{index}' already exists "
                                "(see 'speleo fschange list')") from e
        raise


def list_inputs(svc) -> list[dict]:
    """Every fschange input with its settings and its last scan (files, changes, problems)."""
    rows = svc.catalog.query(
        "SELECT id, path, index_name, sourcetype, host, disabled FROM inputs WHERE kind = ? ORDER BY id", (KIND,))
    out = []
    for r in rows:
        item = {"id": r[0], "path": r[1], "index": r[2], "sourcetype": r[3], "host": r[4], "disabled": bool(r[5])}
        p = state_path(svc.home.root, r[0])
        if p.exists():
            st = InputState(p)
            try:
                s = st.settings
                item.update(poll_period_secs=s.poll_period_secs, hash=s.hash_algo, hash_max_size=s.hash_max_size,
                            recurse=s.recurse, filters=[f.text() for f in s.filters],
                            emit_baseline=s.emit_baseline, last_scan=st.last_scan)
            finally:
                st.close()
        out.append(item)
    return out


def get_input(svc, ref: str) -> dict:
    """An input by id or by its folder. Raises NotFoundError."""
    for item in list_inputs(svc):
        if str(item["id"]) == str(ref) or item["path"] == os.path.realpath(os.path.expanduser(ref)):
            return item
    raise NotFoundError(f"no fschange input {ref!r} (see 'speleo fschange list')")


def remove_input(svc, ref: str) -> dict:
    """Remove an input and its baseline. Raises NotFoundError."""
    item = get_input(svc, ref)
    with svc.catalog.transaction() as con:
        con.execute("DELETE FROM inputs WHERE id = ? AND kind = ?", (item["id"], KIND))
    base = state_path(svc.home.root, item["id"])
    for suffix in ("", "-wal", "-shm"):
        Path(str(base) + suffix).unlink(missing_ok=True)
    return item
