"""fschange with a real `speleo serve`: inotify-driven changes, a restart in between (changes
made while it was down are reported), a simulated code roll checked by `speleo fschange verify`,
and kill -9 in the middle of a stream of changes (nothing lost, nothing twice)."""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from collections import Counter

from tests.conftest import run_cli, wait_for


def changes(server) -> list[tuple[str, str]]:
    body = server.search("index=fim sourcetype=fs_notification | table action path old_path changed")
    return [(r["action"], r["path"]) for r in body["results"]]


def by_path(server) -> dict[str, dict]:
    body = server.search("index=fim sourcetype=fs_notification | table _time action path old_path changed mode hash")
    return {r["path"]: r for r in body["results"]}


def scanned(server) -> bool:
    """True once the input's first full scan (the baseline) is recorded in `_internal`."""
    body = server.search("index=_internal sourcetype=fschange scan=baseline | stats count")
    return body["results"][0]["count"] >= 1


def event_count(server) -> int:
    return server.search("index=fim sourcetype=fs_notification | stats count")["results"][0]["count"]


def test_changes_restart_and_code_roll(tmp_path, server_factory):
    home, tree = tmp_path / "home", tmp_path / "app"
    (tree / "bin").mkdir(parents=True)
    (tree / "bin" / "run.sh").write_text("v1\n")
    (tree / "lib.py").write_text("x = 1\n")
    (tree / "old.cfg").write_text("old\n")
    (tree / "doomed").write_text("bye\n")
    run_cli(home, "add", "fschange", str(tree), "--index", "fim", "--poll-period", "3600")
    server = server_factory(home).start()
    wait_for(lambda: scanned(server))
    assert changes(server) == []                                    # baseline: no flood

    (tree / "new.txt").write_text("hello\n")
    (tree / "lib.py").write_text("x = 2\n")
    os.chmod(tree / "bin" / "run.sh", 0o755)
    os.rename(tree / "old.cfg", tree / "bin" / "new.cfg")
    (tree / "doomed").unlink()
    want = {("add", str(tree / "new.txt")), ("update", str(tree / "lib.py")), ("update", str(tree / "bin" / "run.sh")),
            ("renamed", str(tree / "bin" / "new.cfg")), ("delete", str(tree / "doomed"))}
    wait_for(lambda: want <= set(changes(server)))
    ev = by_path(server)
    assert ev[str(tree / "bin" / "run.sh")]["changed"] == "mode" and ev[str(tree / "bin" / "run.sh")]["mode"] == "rwxr-xr-x"
    assert ev[str(tree / "bin" / "new.cfg")]["old_path"] == str(tree / "old.cfg")
    assert "content" in ev[str(tree / "lib.py")]["changed"].split(",")
    assert sorted(changes(server)) == sorted(want)                 # each change exactly once

    server.stop()                                                   # changes while the server is down
    (tree / "while-down.txt").write_text("made offline\n")
    (tree / "new.txt").unlink()
    server = server_factory(home).start()
    down = {("add", str(tree / "while-down.txt")), ("delete", str(tree / "new.txt"))}
    wait_for(lambda: down <= set(changes(server)))

    # a code roll: the manifest expects run.sh and lib.py to change and app.ini to arrive;
    # the roll changes both, forgets app.ini, and something drops an unexpected file
    time.sleep(1.1)
    roll_start = time.time()
    time.sleep(0.1)
    manifest = tmp_path / "release.sha256"
    new_run, new_lib = b"v2\n", b"x = 3\n"
    manifest.write_text(f"{hashlib.sha256(new_run).hexdigest()}  bin/run.sh\n"
                        f"{hashlib.sha256(new_lib).hexdigest()}  lib.py\n"
                        f"{hashlib.sha256(b'[app]').hexdigest()}  app.ini\n")
    (tree / "bin" / "run.sh").write_bytes(new_run)
    (tree / "lib.py").write_bytes(new_lib)
    (tree / "bin" / "backdoor").write_text("#!/bin/sh\n")
    wait_for(lambda: ("add", str(tree / "bin" / "backdoor")) in changes(server)
             and sum(1 for a, p in changes(server) if p == str(tree / "lib.py")) == 2)
    proc = run_cli(home, "fschange", "verify", str(tree), "--manifest", str(manifest), "--since", str(roll_start),
                   "-o", "json", check=False)                    # the index: that of the input watching the tree
    assert proc.returncode == 3, proc.stdout + proc.stderr        # 1 unexpected + 2 missing
    rep = json.loads(proc.stdout)
    got = {i["path"]: i["status"] for i in rep["items"]}
    assert got == {"bin/run.sh": "expected", "lib.py": "expected", "app.ini": "missing", "bin/backdoor": "unexpected"}
    text = run_cli(home, "fschange", "verify", str(tree), "--manifest", str(manifest), "--tree", check=False)
    assert text.returncode == 3 and "unexpected bin/backdoor" in text.stdout  # the tree now: also unlisted files


def diagnose(server) -> str:
    """What the server says of its fschange inputs, its problems and its log (for a failure)."""
    try:
        status = server.api("GET", "/api/v1/status").json()
        internal = server.search("index=_internal sourcetype=fschange | table _time scan files changes problems")
    except Exception as e:   # the server itself is the problem
        status, internal = f"unreachable: {e}", {}
    log = server.log.read_text(errors="replace").splitlines()
    log = [line for line in log if "/health" not in line and "/api/v1/search" not in line][-40:]
    return (f"\nstatus: {json.dumps(status)[:3000]}\nscans: {internal.get('results')}\nlog:\n" + "\n".join(log))


def test_kill9_mid_change_loses_and_doubles_nothing(tmp_path, server_factory):
    home, tree = tmp_path / "home", tmp_path / "tree"
    tree.mkdir()
    run_cli(home, "add", "fschange", str(tree), "--index", "fim", "--poll-period", "3600")
    server = server_factory(home).start()
    wait_for(lambda: scanned(server))
    stop = threading.Event()
    written: list[str] = []

    def write() -> None:                      # a stream of new files until told to stop
        i = 0
        while not stop.is_set():
            p = tree / f"f{i:05d}"
            p.write_text(f"{i}\n")
            written.append(str(p))
            i += 1
            time.sleep(0.004)

    t = threading.Thread(target=write)
    t.start()
    try:
        for _ in range(2):                    # kill -9 while events for the stream are being written
            before = event_count(server)
            try:
                wait_for(lambda: event_count(server) > before + 20, timeout=60, interval=0.2)
            except AssertionError as e:
                raise AssertionError(f"{e}; {len(written)} files written{diagnose(server)}") from None
            server.kill9()
            server = server_factory(home).start()
    finally:
        stop.set()
        t.join()
    paths = set(written)
    wait_for(lambda: {p for _, p in changes(server)} >= paths, timeout=90)
    time.sleep(1.0)
    seen = changes(server)
    assert {a for a, _ in seen} == {"add"}
    assert [k for k, c in Counter(seen).items() if c > 1] == []     # nothing twice
    assert {p for _, p in seen} == paths                            # nothing lost
