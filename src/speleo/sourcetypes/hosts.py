"""Host logs: sudo's log file, cron, systemd-journald's JSON export, Windows event logs.

Formats: sudo's own log file (`Dec  4 10:00:00 : alice : TTY=pts/0 ; PWD=/home/alice ;
USER=root ; COMMAND=...`, sudoers(5) `logfile`; long entries wrap onto indented lines); cron's
syslog lines (Debian `CRON[pid]: (user) CMD (command)`, Red Hat `CROND[pid]:`); `journalctl -o
json` (one JSON object per entry, journal fields such as `__REALTIME_TIMESTAMP` in microseconds,
`MESSAGE`, `_HOSTNAME`, `SYSLOG_IDENTIFIER`, `_PID`, `PRIORITY`; systemd.journal-fields(7));
Windows events as XML (the `<Event xmlns=...>` rendering of wevtutil and Splunk's
XmlWinEventLog, one event per line or pretty-printed) or JSON (NXLog's flat `EventID`/
`EventTime` record, or Winlogbeat's `winlog.event_id` / `winlog.event_data.*`). The Security
events 4624/4625 (logon), 4634 (logoff), 4672, 4688 (process creation), 4720, 4740 get the CIM
Authentication and Endpoint.Processes names (action, user, src, src_port, dest, process,
process_id, process_name, parent_process, signature, signature_id).
"""

from __future__ import annotations

from speleo.sourcetypes.base import SYSLOG_HEAD, SYSLOG_TIME, Family, Sourcetype, alias, mapped, x
from speleo.sourcetypes.classic import SUDO, auth_extractions

_SUDO_START = r"^[A-Z][a-z]{2} +\d{1,2} \d\d:\d\d:\d\d : "
_CRON = r"(?:CRON|crond?)(?:\[\d+\])?: \((?P<user>[^)]+)\) (?P<cron_action>[A-Z][A-Z ]*?) \((?P<command>.*)\)$"

_PRIORITIES = {"0": "emergency", "1": "alert", "2": "critical", "3": "error", "4": "warning",
               "5": "notice", "6": "informational", "7": "debug"}
_JOURNALD = (alias("message", "MESSAGE") + alias("process", "SYSLOG_IDENTIFIER", "_COMM") + alias("pid", "_PID")
             + alias("dest", "_HOSTNAME") + alias("unit", "_SYSTEMD_UNIT")
             + alias("app", "SYSLOG_IDENTIFIER") + (mapped("severity", r"(?P<severity>.+)", _PRIORITIES, "PRIORITY"),)
             + auth_extractions("MESSAGE", r"^ *"))

# Windows: the event data fields every extraction below reads.
_DATA = ("TargetUserName", "TargetDomainName", "SubjectUserName", "SubjectDomainName", "IpAddress", "IpPort",
         "LogonType", "WorkstationName", "LogonProcessName", "AuthenticationPackageName", "Status", "SubStatus",
         "FailureReason", "NewProcessName", "NewProcessId", "ProcessId", "ProcessName", "ParentProcessName",
         "CommandLine", "TokenElevationType", "TargetLogonId", "SubjectLogonId")
_SIGNATURES = {"4624": "An account was successfully logged on", "4625": "An account failed to log on",
               "4634": "An account was logged off", "4647": "User initiated logoff",
               "4672": "Special privileges assigned to new logon", "4688": "A new process has been created",
               "4689": "A process has exited", "4720": "A user account was created",
               "4726": "A user account was deleted", "4740": "A user account was locked out",
               "4648": "A logon was attempted using explicit credentials", "1102": "The audit log was cleared"}
_WIN_ACTIONS = {"4624": "success", "4625": "failure", "4648": "success", "4740": "failure",
                "4688": "allowed", "4720": "created", "4726": "deleted"}
_LOGON_APPS = {"2": "win:local", "3": "win:remote", "7": "win:unlock", "8": "win:remote",
               "10": "win:remote", "11": "win:cached"}


def _windows_cim() -> tuple:
    """CIM fields computed from the Windows fields (EventCode and the event data names)."""
    return (
        (mapped("action", r"(?P<action>.+)", _WIN_ACTIONS, "EventCode"),
         mapped("signature", r"(?P<signature>.+)", _SIGNATURES, "EventCode"),
         mapped("app", r"(?P<app>.+)", _LOGON_APPS, "LogonType"))
        + alias("signature_id", "EventCode")
        + alias("user", "TargetUserName", "SubjectUserName") + alias("src_user", "SubjectUserName")
        + alias("user_domain", "TargetDomainName", "SubjectDomainName")
        + alias("src", "IpAddress", "WorkstationName") + alias("src_port", "IpPort")
        + alias("process", "NewProcessName", "ProcessName") + alias("process_path", "NewProcessName")
        + alias("process_id", "NewProcessId", "ProcessId") + alias("parent_process", "ParentProcessName")
        + alias("process_exec", "NewProcessName")
        + x(r"(?P<process_name>[^\\/]+)$", field="process")
        + x(r"(?P<parent_process_name>[^\\/]+)$", field="parent_process")
        + alias("dest", "ComputerName")
    )


_XML = (
    x(r"<EventID(?: [^>]*)?>(?P<EventCode>\d+)</EventID>", r"<Provider Name=['\"](?P<SourceName>[^'\"]+)['\"]",
      r"<Channel>(?P<LogName>[^<]+)</Channel>", r"<Computer>(?P<ComputerName>[^<]+)</Computer>",
      r"<EventRecordID>(?P<RecordNumber>\d+)</EventRecordID>",
      r"<Execution ProcessID=['\"](?P<ExecutionProcessID>\d+)")
    + tuple(x(rf"<Data Name=['\"]{name}['\"]>(?P<{name}>[^<]*)</Data>")[0] for name in _DATA)
)
_JSON = (
    alias("EventCode", "EventID", "winlog.event_id", "event.code")
    + alias("ComputerName", "Hostname", "winlog.computer_name", "Computer")
    + alias("LogName", "Channel", "winlog.channel") + alias("SourceName", "winlog.provider_name")
    + tuple(alias(name, f"winlog.event_data.{name}", f"EventData.{name}")[i] for name in _DATA for i in (0, 1))
)

FAMILY = Family(
    sourcetypes=(
        Sourcetype("sudo", extractions=x(_SUDO_START + SUDO)
                   + (mapped("action", _SUDO_START + r"\S+ : (?:HOST=\S+ : )?(?:\d+ )?(?P<action>incorrect password "
                                       r"attempts?|command not allowed|user NOT in sudoers|TTY=)",
                             {"tty=": "success", "incorrect password attempt": "failure",
                              "incorrect password attempts": "failure", "command not allowed": "failure",
                              "user not in sudoers": "failure"}),
                      mapped("app", r"(?P<app>TTY)=", {"tty": "sudo"})),
                   description="sudo's own log file (sudoers `logfile`); wrapped lines join their entry."),
        Sourcetype("cron", should_linemerge=False, extractions=x(SYSLOG_HEAD, _CRON) + alias("dest", "host"),
                   description="cron's syslog lines (/var/log/cron, CRON[pid]: (user) CMD (command))."),
        Sourcetype("journald", should_linemerge=False, kv=False, json=True,
                   time_prefix=r'"__REALTIME_TIMESTAMP"\s*:\s*"', extractions=_JOURNALD,
                   description="`journalctl -o json` export: one journal entry per line, _time in microseconds."),
        Sourcetype("XmlWinEventLog", line_breaker=r"<Event[\s>]", time_prefix=r"<TimeCreated SystemTime=['\"]",
                   max_lines=2000, truncate=100000, kv=False, extractions=_XML + _windows_cim(),
                   description="Windows event log as XML (<Event xmlns=...>), one per line or pretty-printed."),
        Sourcetype("WinEventLog:json", should_linemerge=False, kv=False, json=True,
                   time_prefix=r'"(?:@timestamp|EventTime|TimeCreated)"\s*:\s*"',
                   extractions=_JSON + _windows_cim(),
                   description="Windows event log as JSON lines (NXLog im_msvistalog, Winlogbeat)."),
    ),
    signatures=(
        ("sudo", _SUDO_START + r"\S+ : "),
        ("cron", r"^" + SYSLOG_TIME + r" \S+ (?:CRON|crond?)\[\d+\]: \("),
        ("XmlWinEventLog", r"^<Event xmlns=['\"]http://schemas\.microsoft\.com/win/2004/08/events/event['\"]"),
    ),
    json_keys=(("journald", ("__REALTIME_TIMESTAMP", "MESSAGE")),
               ("WinEventLog:json", ("winlog.event_id",)), ("WinEventLog:json", ("EventID", "SourceName")),
               ("WinEventLog:json", ("EventID", "Channel"))),
)
