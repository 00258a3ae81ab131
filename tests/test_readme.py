"""Issue 9: every command of the README works as written, in order, on a fresh machine.

The shell blocks of README.md from "A five-minute tour" on (the blocks before it are the set-up,
`make run` / `make test`, which CI itself runs) are run in order by ONE bash process, as a person
pasting them into a terminal would, in a fresh folder laid out like the repository
(`<tmp>/repo` with `<tmp>/shared` -> the real data), with a fresh $HOME, real servers, real curl and
logger. Each command's exit status and output are kept and checked; several outcomes are checked
against values computed here from the data files.

What the test changes, and only this:
- `central` (the README's name for the server's machine) becomes 127.0.0.1;
- the ports 8000, 8088 and 5514 become free ports, and `speleo serve` gets `--port`/`--hec-port`
  for them (other tests use the machine at the same time);
- `speleo` is a two-line shim running this checkout (`python -m speleo.cli.main`);
- a command ending in `&` gets its output sent to a file; at the end the jobs left are stopped.
Every command must end with status 0, but `kill %1; wait %1`, whose 143 says the server stopped on
SIGTERM.
"""

from __future__ import annotations

import collections
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import DATA, REPO, free_port

TIMEOUT = 420   # seconds for the whole tour (each `until` loop waits for the server or the forwarder)


def readme_commands(text: str) -> list[str]:
    """The commands of the README's shell blocks from the tour on: continuation lines joined,
    comment-only and blank lines left out."""
    text = text[text.index("## A five-minute tour"):]
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", text, re.S):
        for cmd in re.sub(r"\\\n\s*", "", block).splitlines():
            if cmd.strip() and not cmd.strip().startswith("#"):
                commands.append(cmd.strip())
    return commands


def adapt(cmd: str, ports: dict[str, int]) -> str:
    """The documented changes (module doc) to one command."""
    cmd = cmd.replace("central", "127.0.0.1")
    cmd = cmd.replace("speleo serve", f"speleo serve --port {ports['8000']} --hec-port {ports['8088']}")
    for old, new in ports.items():
        cmd = re.sub(rf"(?<![0-9]){old}(?![0-9])", str(new), cmd)
    return cmd


def script(commands: list[str], out: Path) -> str:
    """One bash script: each command with its output to out/N.out|err and its status to out/N.rc."""
    lines = ["set +e", f"cd {shlex.quote(str(out.parent / 'repo'))}"]
    for i, cmd in enumerate(commands):
        lines.append(f"echo {i} > {out}/current")
        if cmd.endswith("&") and not cmd.endswith("&&"):
            body = cmd[:-1].split("#")[0].rstrip()
            lines.append(f"{body} > {out}/{i}.out 2> {out}/{i}.err < /dev/null &")
            lines.append(f"echo 0 > {out}/{i}.rc")
        else:
            lines.append(f"{{ {cmd}\n}} > {out}/{i}.out 2> {out}/{i}.err < /dev/null; echo $? > {out}/{i}.rc")
    lines.append(f"echo done > {out}/current")
    lines.append("kill $(jobs -p) 2>/dev/null; wait")
    return "\n".join(lines) + "\n"


@pytest.fixture
def tour(tmp_path):
    apache = DATA / "elastic-examples" / "apache" / "apache_logs"
    if not apache.exists():
        pytest.skip(f"real data not found at {DATA}")
    (tmp_path / "repo").mkdir()
    (tmp_path / "shared").symlink_to(DATA.parent)
    (tmp_path / "home").mkdir()
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "speleo"
    shim.write_text(f"#!/bin/sh\nexec {shlex.quote(sys.executable)} -m speleo.cli.main \"$@\"\n")
    shim.chmod(0o755)
    out = tmp_path / "out"
    out.mkdir()
    ports = {"8000": free_port(), "8088": free_port(), "5514": free_port()}
    commands = readme_commands((REPO / "README.md").read_text())
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SPELEO_", "VIRTUAL_ENV"))}
    env.update(HOME=str(tmp_path / "home"), PATH=f"{bin_dir}:{Path(sys.executable).parent}:{env.get('PATH', '')}",
               PYTHONPATH=str(REPO / "src"))
    proc = subprocess.Popen(["bash", "-c", script([adapt(c, ports) for c in commands], out)], env=env,
                            start_new_session=True)
    try:
        proc.wait(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        pass
    finally:
        try:   # the script and its background jobs (one process group: bash -c has no job control)
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()
    current = (out / "current").read_text().strip()
    return commands, out, current


def result(out: Path, i: int) -> tuple[int | None, str, str]:
    rc = out / f"{i}.rc"
    return (int(rc.read_text()) if rc.exists() else None, (out / f"{i}.out").read_text(errors="replace"),
            (out / f"{i}.err").read_text(errors="replace"))


def apache_lines() -> list[list[str]]:
    return [line.split(" ") for line in (DATA / "elastic-examples" / "apache" / "apache_logs").read_text().splitlines()]


def test_the_readme_tour_works_as_written(tour):
    commands, out, current = tour
    assert "uuidgen" not in " ".join(commands)                  # not on a fresh machine
    for i, cmd in enumerate(commands):
        rc, stdout, stderr = result(out, i)
        # `kill %1; wait %1`: wait reports the server ended by SIGTERM (128 + 15), as a shell does
        ok = (0, 143) if cmd.startswith("kill %") else (0,)
        assert rc in ok, f"README command {i} failed (status {rc}, last started: {current}):\n{cmd}\n{stdout}\n{stderr}"
    assert current == "done"
    by = {cmd: result(out, i)[1] for i, cmd in enumerate(commands)}

    def output(prefix: str) -> str:
        found = [o for c, o in by.items() if c.startswith(prefix)]
        assert found, prefix
        return found[0]

    rows = apache_lines()
    status = collections.Counter(r[8] for r in rows)
    assert f"indexed {len(rows):,} events" in output("speleo add oneshot")
    assert "web" in output("speleo index list") and f"{len(rows):,}" in output("speleo index list")
    table = output("speleo search 'index=web | stats count by status | sort -count'")
    top_status, top_count = status.most_common(1)[0]
    assert re.search(rf"\b{top_status}\b.*\b{top_count}\b", table)
    chart = output("speleo search 'index=web | timechart").splitlines()
    assert chart[0] == "_time,count" and sum(int(x.rsplit(",", 1)[1]) for x in chart[1:]) == len(rows)
    top = [json.loads(x) for x in output("speleo search 'index=web status>=500").splitlines()]
    ips = collections.Counter(r[0] for r in rows if r[8].isdigit() and int(r[8]) >= 500)
    assert [t["count"] for t in top] == [c for _, c in ips.most_common(3)]
    assert "SQL:" in output("speleo explain")
    kafka = output("speleo search 'index=kafka ERROR").splitlines()
    assert len(kafka) >= 3 and "ERROR" in kafka[0]
    assert "kafka0" in output("speleo status")
    hec = json.loads(output('curl -s -H "Authorization: Splunk'))
    assert hec["code"] == 0 and "ackId" in hec
    ssh = (DATA / "loghub" / "OpenSSH" / "OpenSSH_2k.log").read_bytes()
    counted = output("speleo search 'index=main source=*OpenSSH_2k.log | stats count'")
    complete = ssh.count(b"\n")   # the forwarder ships complete lines only
    assert re.search(rf"\b{complete}\b", counted), counted
    assert "PASSED" in output("speleo fschange verify")
    fwd = output("speleo forward status")
    assert "REFUSED" not in fwd and "events read" in fwd
    api = json.loads(output('curl -s -H "Authorization: Bearer'))
    uris = collections.Counter(r[6] for r in rows if r[8] == "404")
    assert [r["count"] for r in api["results"]] == [c for _, c in uris.most_common(3)]
