"""Compilers of commands from commands/extra.py that run on DuckDB."""

from __future__ import annotations

from speleo.spl import ast
from speleo.spl.commands.extra import not_compiled
from speleo.spl.state import State

compile_tstats = not_compiled("tstats")
compile_convert = not_compiled("convert")
compile_spath = not_compiled("spath")
compile_regex = not_compiled("regex")
compile_makeresults = not_compiled("makeresults")
