"""A private PostgreSQL cluster for tests: initdb in a temporary folder, started once per session
as an unprivileged user on a free port; skips cleanly when PostgreSQL is not installed."""

from __future__ import annotations

import atexit
import glob
import os
import shutil
import subprocess
import tempfile
import uuid

import pytest

_cluster: dict = {}


def _bin(name: str) -> str | None:
    for d in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if os.access(os.path.join(d, name), os.X_OK):
            return os.path.join(d, name)
    return shutil.which(name)


def _as_user(cmd: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return cmd
    return ["runuser", "-u", "postgres", "--", *cmd] if _has_user("postgres") else ["runuser", "-u", "nobody", "--", *cmd]


def _has_user(name: str) -> bool:
    import pwd

    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def _start(request) -> dict:
    initdb, pg_ctl = _bin("initdb"), _bin("pg_ctl")
    if not initdb or not pg_ctl:
        pytest.skip("PostgreSQL is not installed (initdb/pg_ctl not found)")
    from tests.conftest import free_port

    root = tempfile.mkdtemp(prefix="speleo-pg-")
    os.chmod(root, 0o777)
    data, port = os.path.join(root, "data"), free_port()
    run = lambda cmd: subprocess.run(_as_user(cmd), capture_output=True, text=True, timeout=120)  # noqa: E731
    p = run([initdb, "-D", data, "-U", "speleo", "--auth=trust", "-E", "UTF8"])
    if p.returncode:
        pytest.skip(f"initdb failed: {p.stderr.strip()[:300]}")
    p = run([pg_ctl, "-D", data, "-w", "-l", os.path.join(root, "log"),
             "-o", f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off", "start"])
    if p.returncode:
        pytest.skip(f"PostgreSQL did not start: {p.stderr.strip()[:300]}")

    def stop() -> None:
        run([pg_ctl, "-D", data, "-m", "immediate", "stop"])
        shutil.rmtree(root, ignore_errors=True)

    atexit.register(stop)  # at the end of the test session
    return {"port": port}


def fresh_database(request) -> str:
    """The URL of a new, empty database on the session's private cluster."""
    if "port" not in _cluster:
        if "skip" in _cluster:
            pytest.skip(_cluster["skip"])
        try:
            _cluster.update(_start(request))
        except pytest.skip.Exception as e:
            _cluster["skip"] = str(e)
            raise
    import psycopg

    name = "t_" + uuid.uuid4().hex[:12]
    with psycopg.connect(f"host=127.0.0.1 port={_cluster['port']} user=speleo dbname=postgres", autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{name}"')  # name is generated here, never user input
    return f"postgresql+psycopg://speleo@127.0.0.1:{_cluster['port']}/{name}"
