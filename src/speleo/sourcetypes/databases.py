"""Databases: MySQL error and slow-query logs, PostgreSQL's server log, Oracle's alert log.

Formats: MySQL 5.7/8.0 error log (`2026-12-04T10:00:00.123456Z 8 [Warning] [MY-010055]
[Server] message`, MySQL Reference Manual "Error Log Output Format"; the 5.6 form without `T`
also), the slow query log (`# Time:`, `# User@Host:`, `# Query_time:` header lines, then the
statements; "The Slow Query Log"); PostgreSQL with the default `log_line_prefix = '%m [%p] '`,
optionally followed by `%q%u@%d ` (PostgreSQL documentation, "Error Reporting and Logging");
Oracle's text alert log, whose timestamp lines (`Fri Dec 04 10:00:00 2026` up to 12.1,
`2026-12-04T10:00:00.123456+00:00` since 12.2) stand alone before the messages they time.
Authentication outcomes use the CIM Authentication names (action, user, src).
"""

from __future__ import annotations

import re

from speleo.sourcetypes.base import IP, Family, Sourcetype, alias, mapped, x

_MYSQL_ERROR = (
    r"^\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)? +(?P<thread_id>\d+) "
    r"\[(?P<log_level>[A-Za-z]+)\](?: \[(?P<error_code>MY-\d+)\] \[(?P<subsystem>\w+)\])? (?P<message>[^\n]*)",
    r"Access denied for user '(?P<user>[^']*)'@'(?P<src>[^']*)'",
)
_MYSQL_LEVELS = {"system": "informational", "note": "informational", "warning": "low", "error": "medium"}
_SLOW = (
    r"# User@Host: (?P<user>[^\[\s]*)\[[^\]]*\] @ (?P<src_host>[^\s\[]*) ?\[(?P<src>[^\]]*)\]"
    r"(?: +Id: +(?P<session_id>\d+))?",
    r"# Query_time: (?P<query_time>[\d.]+) +Lock_time: (?P<lock_time>[\d.]+) +"
    r"Rows_sent: (?P<rows_sent>\d+) +Rows_examined: (?P<rows_examined>\d+)",
    r"(?m)^use (?P<database>[^;\s]+);",
    r"(?s)SET timestamp=(?P<query_timestamp>\d+);\n(?P<query>.*\S)",
)
_PG_PREFIX = (r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?(?: [A-Za-z]{1,5}|[+-]\d\d(?::?\d\d)?)? "
              r"\[(?P<pid>\d+)\](?:-(?P<line_num>\d+))? ")
_PG_SEVERITY = (r"(?P<log_level>LOG|ERROR|FATAL|PANIC|WARNING|NOTICE|INFO|DEBUG\d?|DETAIL|HINT|STATEMENT|"
                r"CONTEXT|QUERY|LOCATION)")
_POSTGRES = (
    _PG_PREFIX + r"(?:(?P<db_user>[^\s@]*)@(?P<database>\S*) )?" + _PG_SEVERITY + r": +(?P<message>[^\n]*)",
    r'password authentication failed for user "(?P<user>[^"]+)"',
    r'no pg_hba\.conf entry for host "(?P<src>[^"]+)", user "(?P<user>[^"]+)", database "(?P<dest_database>[^"]+)"',
    r"connection authorized: user=(?P<user>\S+)(?: database=(?P<database>\S+))?",
    r"connection received: host=(?P<src>[^\s(]+)(?:(?:\(| port=)(?P<src_port>\d+))?",
    r"duration: (?P<duration_ms>[\d.]+) ms",
)
_PG_ACTIONS = {"password authentication failed": "failure", "no pg_hba.conf entry": "failure",
               "connection authorized": "success"}
_ORACLE = (
    r"(?P<error_code>ORA-\d{5})",
    r"(?m)^ORA-\d{5}: (?P<message>.*)$",
    r"Thread (?P<thread>\d+) advanced to log sequence (?P<log_sequence>\d+)",
    r"Errors in file (?P<trace_file>[^\s:]+):",
)
_ORACLE_TIME_LINE = re.compile(
    r"^(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4}"
    r"|\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+[+-]\d\d:\d\d)$")
_ORACLE_WORDS = re.compile(r"ORA-\d{5}|Thread \d+ advanced|Starting ORACLE instance|ALTER DATABASE|"
                           r"Archived Log entry|LGWR|ARC\d|Completed: ")


def _oracle_alert(source: str, lines: list[str]) -> str | None:
    """Oracle's alert log: at least a quarter of the lines are bare timestamps, and the text
    speaks Oracle (an ORA- code, a log switch...) or the file is named alert_<SID>.log."""
    if not lines or sum(1 for ln in lines if _ORACLE_TIME_LINE.match(ln)) * 4 < len(lines):
        return None
    named = re.search(r"(?:^|/)alert_[^/]*\.log$", source.replace("\\", "/")) is not None
    return "oracle:alert" if named or any(_ORACLE_WORDS.search(ln) for ln in lines) else None


def _mysql_slow(source: str, lines: list[str]) -> str | None:
    """MySQL's slow query log: `# User@Host:` and `# Query_time:` header lines (the
    statements between them have no shape of their own)."""
    users = sum(1 for ln in lines if ln.startswith("# User@Host: "))
    times = sum(1 for ln in lines if ln.startswith("# Query_time: "))
    return "mysql:slowquery" if users and times and min(users, times) * 8 >= len(lines) else None


FAMILY = Family(
    sourcetypes=(
        Sourcetype("mysql:error", extractions=x(*_MYSQL_ERROR)
                   + (mapped("action", r"(?P<action>Access denied) for user", {"access denied": "failure"}),
                      mapped("severity", r"(?P<severity>.+)", _MYSQL_LEVELS, "log_level"))
                   + alias("signature_id", "error_code"),
                   description="MySQL 5.6-8.0 error log; lines without a timestamp (stack traces, InnoDB "
                               "monitor output) continue the event."),
        Sourcetype("mysql:slowquery", line_breaker=r"# Time: ", max_lines=1000, extractions=x(*_SLOW),
                   description="MySQL slow query log: one event per `# Time:` entry (5.7+ ISO times)."),
        Sourcetype("postgresql", extractions=x(*_POSTGRES)
                   + (mapped("action", r"(?P<action>password authentication failed|no pg_hba\.conf entry|"
                                       r"connection authorized)", _PG_ACTIONS),)
                   + alias("user", "db_user")
                   + (mapped("severity", r"(?P<severity>.+)", {"panic": "critical", "fatal": "high",
                                                                "error": "medium", "warning": "low"}, "log_level"),),
                   description="PostgreSQL server log, log_line_prefix '%m [%p] ' (optionally '%q%u@%d ')."),
        Sourcetype("oracle:alert", max_lines=1000, extractions=x(*_ORACLE) + alias("signature", "error_code"),
                   description="Oracle alert log (text): a timestamp line and the messages it times."),
    ),
    signatures=(
        ("mysql:error", r"^\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)? +\d+ "
                        r"\[(?:System|Note|Warning|ERROR|Error)\] "),
        ("postgresql", _PG_PREFIX.replace("(?P<pid>", "(?:").replace("(?P<line_num>", "(?:")
                       + r"(?:\S*@\S* )?(?:LOG|ERROR|FATAL|PANIC|WARNING|NOTICE|INFO|DEBUG\d?|DETAIL|HINT|"
                         r"STATEMENT|CONTEXT|QUERY|LOCATION):  "),
    ),
    detectors=(_oracle_alert, _mysql_slow),
)
