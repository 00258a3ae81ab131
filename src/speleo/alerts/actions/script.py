"""The script action (Splunk savedsearches.conf `action.script.filename`; deprecated in Splunk,
kept for compatibility).

The script is looked up by file name only in `<home>/bin/scripts/` (Splunk:
`$SPLUNK_HOME/bin/scripts`) and must be executable. Its arguments are Splunk's: 1 the number
of results, 2 the search terms, 3 the full query, 4 the saved search name, 5 the trigger
reason, 6 the results link, 7 (unused, empty), 8 the path of a gzipped CSV of the results;
also in the environment as `SPLUNK_ARG_0` (the script) to `SPLUNK_ARG_8`. It runs with a
timeout (`action.script.maxtime`, default 300 s) and a non-zero exit is a failure that
quotes the end of its standard error.
"""

from __future__ import annotations

import gzip
import os
import subprocess
import tempfile

from speleo.alerts.actions import ActionContext, ActionError, register_action
from speleo.alerts.actions.email import results_csv


def find_script(ctx: ActionContext) -> str:
    name = (ctx.params.get("filename") or "").strip()
    where = f"alert '{ctx.name}': action.script.filename = {name!r}"
    if not name or "/" in name or name in (".", ".."):
        raise ActionError(f"{where}: give a file name (no path) of a script in {ctx.server.scripts_dir}")
    path = ctx.server.scripts_dir / name
    if not path.is_file():
        raise ActionError(f"{where}: no such script in {ctx.server.scripts_dir}; put it there")
    if not os.access(path, os.X_OK):
        raise ActionError(f"{where}: {path} is not executable; run chmod +x on it")
    return str(path)


def run_script(ctx: ActionContext) -> str:
    path = find_script(ctx)
    timeout = float(ctx.params.get("maxtime") or 300)
    with tempfile.TemporaryDirectory(prefix="speleo-script-") as tmp:
        results = os.path.join(tmp, "results.csv.gz")
        with gzip.open(results, "wt", encoding="utf-8", newline="") as f:
            f.write(results_csv(ctx.fields, ctx.rows))
        search = str(ctx.attrs.get("search", ""))
        args = [path, str(ctx.job.get("resultCount", len(ctx.rows))), search, search, ctx.name,
                f"Saved Search [{ctx.name}] triggered", ctx.results_link, "", results]
        env = {**os.environ, **{f"SPLUNK_ARG_{i}": a for i, a in enumerate(args)}}
        try:
            proc = subprocess.run(args, capture_output=True, text=True, timeout=timeout, env=env, cwd=tmp)
        except subprocess.TimeoutExpired:
            raise ActionError(f"alert '{ctx.name}': script {path} did not finish within {timeout:g} s") from None
        except OSError as e:
            raise ActionError(f"alert '{ctx.name}': script {path} could not start: {e}") from None
    if proc.returncode != 0:
        raise ActionError(f"alert '{ctx.name}': script {path} exited with status {proc.returncode}: "
                          f"{proc.stderr.strip()[-300:]}")
    return f"{os.path.basename(path)} exited 0"


register_action("script", run_script, track_alert=True, maxtime_secs=300)
