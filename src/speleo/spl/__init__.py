"""Speleo's SPL front end (see docs/architecture.md): parse, time modifiers, compile.

Public API::

    parse(query, macros=None) -> ast.Pipeline
    parse_relative_time(text, now, tz) -> float
    compile_search(query, ctx) -> CompiledSearch
"""

from speleo.spl import ast
from speleo.spl.compiler import CompiledSearch, compile_pipeline, compile_search
from speleo.spl.macros import MacroDef, macro_table
from speleo.spl.parser import parse
from speleo.spl.state import BASE_COLUMNS, CompileContext
from speleo.spl.timemod import parse_relative_time

__all__ = [
    "BASE_COLUMNS", "CompileContext", "CompiledSearch", "MacroDef", "ast", "compile_pipeline", "compile_search",
    "macro_table", "parse", "parse_relative_time",
]
