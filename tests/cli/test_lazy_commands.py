"""The command groups in `LAZY_COMMANDS` load only when used: `speleo --help` and `speleo search`
import none of them (nor DuckDB, pyarrow, FastAPI or SQLAlchemy), and each table entry names the
module that really registers the command, with that command's own short help."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys

import click

from speleo.cli.main import LAZY_COMMANDS

HEAVY = ("duckdb", "pyarrow", "fastapi", "sqlalchemy", "uvicorn")


def test_each_lazy_entry_is_its_modules_command_with_its_own_short_help():
    for name, (module, short) in LAZY_COMMANDS.items():
        group = click.Group()
        importlib.import_module(f"speleo.cli.{module}").register(group)
        assert name in group.commands, f"{module}.register() adds no command {name!r}"
        assert group.commands[name].get_short_help_str(10**6) == short, name


def _modules_after(args: list[str]) -> set[str]:
    code = ("import sys, json\nfrom speleo.cli.main import cli\n"
            "try:\n    cli.main(args=json.loads(sys.argv[1]), prog_name='speleo')\n"
            "except SystemExit:\n    pass\n"
            "sys.stderr.write('MODULES ' + json.dumps(sorted(sys.modules)))\n")
    p = subprocess.run([sys.executable, "-c", code, json.dumps(args)], capture_output=True, text=True, timeout=60)
    return set(json.loads(p.stderr.rsplit("MODULES ", 1)[1]))


def test_top_level_help_loads_no_lazy_group_and_no_heavy_library():
    mods = _modules_after(["--help"])
    lazy = {f"speleo.cli.{m}" for m, _ in LAZY_COMMANDS.values()}
    assert not mods & lazy
    assert not {m for m in mods if m.split(".")[0] in HEAVY}


def test_a_lazy_group_loads_when_used(tmp_path):
    mods = _modules_after(["--home", str(tmp_path / "home"), "incident", "--help"])
    assert "speleo.cli.incident_cmds" in mods and "speleo.cli.report_cmds" not in mods


def test_each_lazy_add_entry_is_its_modules_command_with_its_own_short_help():
    from speleo.cli.main import LAZY_ADD_COMMANDS

    for name, (module, attr, short) in LAZY_ADD_COMMANDS.items():
        cmd = getattr(importlib.import_module(f"speleo.cli.{module}"), attr)
        assert cmd.name == name
        assert cmd.get_short_help_str(10**6) == short, name


def test_search_and_add_help_load_no_lazy_group(tmp_path):
    lazy = {f"speleo.cli.{m}" for m, _ in LAZY_COMMANDS.values()}
    for args in (["search", "--help"], ["add", "--help"]):
        mods = _modules_after(["--home", str(tmp_path / "home"), *args])
        assert not mods & lazy, (args, mods & lazy)


def test_lazy_add_subcommand_runs(tmp_path):
    mods = _modules_after(["--home", str(tmp_path / "home"), "add", "fschange", "--help"])
    assert "speleo.cli.fschange_cmds" in mods
    p = subprocess.run([sys.executable, "-m", "speleo.cli.main", "--home", str(tmp_path / "home"), "add", "--help"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0 and "fschange" in p.stdout and "monitor" in p.stdout
