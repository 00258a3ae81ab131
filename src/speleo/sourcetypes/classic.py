"""The first built-in sourcetypes: syslog and auth logs, Apache, JSON, key=value, and the
layouts of the sample data (log4j/Hadoop, ZooKeeper, Kafka, Spark, HDFS, BGL, HPC, OpenStack).
"""

from __future__ import annotations

from speleo.sourcetypes.base import IP, SYSLOG_HEAD, Family, Sourcetype, alias, mapped, x

LEVEL = r"(?P<level>TRACE|DEBUG|INFO|NOTICE|WARN|WARNING|ERROR|SEVERE|FATAL|CRITICAL)"

ACCESS = (
    r"^(?P<clientip>\S+) (?P<ident>\S+) (?P<user>\S+) \[[^\]]+\] "
    r'"(?P<method>[A-Z]+) (?P<uri>(?P<uri_path>[^\s?"]*)(?:\?(?P<uri_query>[^\s"]*))?) '
    r'(?P<version>HTTP/[\d.]+)" (?P<status>\d{3}) (?P<bytes>\d+|-)'
    r'(?: "(?P<referer>[^"]*)" "(?P<useragent>[^"]*)")?'
)
# CIM Web names of the access log fields (Splunk CIM: Web data model).
ACCESS_CIM = (alias("src", "clientip") + alias("http_method", "method") + alias("bytes_out", "bytes")
              + alias("http_referrer", "referer") + alias("http_user_agent", "useragent")
              + alias("http_version", "version"))
_APACHE_ERROR = (
    r"^\[[^\]]+\] \[(?:(?P<module>[\w-]+):)?(?P<level>\w+)\]"
    r"(?: \[pid (?P<pid>\d+)(?::tid \d+)?\])?"
    r"(?: \[client (?P<client>[\d.:a-fA-F]+?)(?::\d+)?\])? (?P<message>.*)"
)
# Authentication messages of sshd, sudo and PAM, found in a syslog line or a journald MESSAGE.
SSHD = (
    r"(?P<vendor_action>Failed|Accepted) (?P<auth_method>\S+) for (?:invalid user )?(?P<user>\S+) "
    r"from (?P<src>" + IP + r") port (?P<src_port>\d+)",
    r"[Ii]nvalid user (?P<user>\S+) from (?P<src>" + IP + r")(?: port (?P<src_port>\d+))?",
    r"session (?P<session_action>opened|closed) for user (?P<user>[^\s(]+)",
)
SUDO = (r"(?P<src_user>[^\s:]+) : (?:HOST=(?P<dest>\S+) : )?"
        r"(?:\d+ incorrect password attempts? ;\s+|command not allowed ;\s+|user NOT in sudoers ;\s+)?"
        r"TTY=(?P<tty>\S+) ;\s+PWD=(?P<pwd>[^;]*?) ;\s+USER=(?P<user>[^\s;]+) ;[\s\S]*?COMMAND=(?P<command>.*)")
PAM_FAILURE = (r"pam_unix\((?P<pam_service>[^:)]+):auth\): authentication failure;.*? "
               r"ruser=(?P<src_user>\S*) rhost=(?P<src>\S*)(?: +user=(?P<user>\S+))?")
_AUTH_ACTIONS = {"failed": "failure", "accepted": "success", "invalid user": "failure",
                 "authentication failure": "failure", "tty=": "success",
                 "incorrect password attempt": "failure", "incorrect password attempts": "failure",
                 "command not allowed": "failure", "user not in sudoers": "failure"}


def auth_extractions(field: str, message_start: str) -> tuple:
    """CIM Authentication fields (action, app, user, src, src_user...) of sshd, sudo and PAM
    messages in `field`; `message_start` is the regex that precedes a message there."""
    action = mapped("action", message_start + r"(?:\S+ : (?:HOST=\S+ : )?(?:\d+ )?)?(?P<action>"
                    r"Failed|Accepted|[Ii]nvalid user|incorrect password attempts?|command not allowed|"
                    r"user NOT in sudoers|TTY=)", _AUTH_ACTIONS, field)
    pam_action = mapped("action", r"pam_unix\([^)]*\): (?P<action>authentication failure)", _AUTH_ACTIONS, field)
    return (action, pam_action) + x(*SSHD, field=field) + x(message_start + SUDO, PAM_FAILURE, field=field)


_SECURE_START = r"(?:sshd|sudo)(?:\[\d+\])?: +"

FAMILY = Family(
    sourcetypes=(
        Sourcetype("generic", description="Automatic timestamps; a line starting with one starts an event."),
        Sourcetype("generic_single_line", should_linemerge=False, description="One event per line."),
        Sourcetype("kv", should_linemerge=False, description="Generic key=value lines."),
        Sourcetype("json", should_linemerge=False, kv=False, json=True,
                   description="One JSON object per line; nested fields as dotted paths."),
        Sourcetype("syslog", should_linemerge=False, extractions=x(SYSLOG_HEAD),
                   description="RFC 3164 syslog files (/var/log/messages, /var/log/syslog)."),
        Sourcetype("linux_secure", should_linemerge=False,
                   extractions=x(SYSLOG_HEAD) + auth_extractions("_raw", _SECURE_START)
                   + x(r"^\S+ +\d+ \S+ \S+ (?P<app>sshd|sudo|su|login)[\[:]") + alias("dest", "host"),
                   description="auth.log / secure: sshd, sudo, su, systemd-logind."),
        Sourcetype("access_combined", should_linemerge=False, extractions=x(ACCESS) + ACCESS_CIM,
                   description="Apache/Nginx access log, NCSA combined format."),
        Sourcetype("apache_error", should_linemerge=False, extractions=x(_APACHE_ERROR),
                   description="Apache error log."),
        Sourcetype("log4j", extractions=x(
            r"^\S+ \S+ " + LEVEL + r" +\[(?P<thread>[^\]]*)\] (?P<component>[\w$.]+): (?P<message>.*)"),
            description="log4j / Java (Hadoop): time LEVEL [thread] logger: message; stack traces merged."),
        Sourcetype("zookeeper", extractions=x(
            r"^\S+ \S+ - " + LEVEL + r" +\[(?P<thread>.*?):(?P<component>[\w$]+)@(?P<line>\d+)\] - "
            r"(?P<message>.*)"), description="ZooKeeper log4j layout."),
        Sourcetype("kafka", extractions=x(
            r"(?m)^\[[^\]]+\] " + LEVEL + r" (?P<message>.*?)(?: \((?P<component>[\w$.]+)\))?$"),
            description="Kafka broker server.log: [time] LEVEL message (logger)."),
        Sourcetype("spark", extractions=x(
            r"^\S+ \S+ " + LEVEL + r" (?P<component>[\w$.]+): (?P<message>.*)"),
            description="Spark log4j layout: yy/MM/dd HH:mm:ss LEVEL logger: message."),
        Sourcetype("hdfs", extractions=x(
            r"^\d{6} \d{6} (?P<pid>\d+) " + LEVEL + r" (?P<component>[\w$.]+): (?P<message>.*)"),
            description="Hadoop HDFS: yyMMdd HHmmss pid LEVEL logger: message."),
        Sourcetype("bgl", should_linemerge=False, extractions=x(
            r"^(?P<label>\S+) (?P<epoch>\d+) (?P<date>\S+) (?P<node>\S+) (?P<wallclock>\S+) "
            r"(?P<node_repeat>\S+) (?P<type>\S+) (?P<component>\S+) (?P<level>\S+) (?P<message>.*)"),
            description="Blue Gene/L RAS log; _time is the epoch column (UTC)."),
        Sourcetype("hpc", should_linemerge=False, extractions=x(
            r"^(?P<log_id>\d+) (?P<node>\S+) (?P<component>\S+) (?P<state>\S+) (?P<epoch>\d+) "
            r"(?P<flag>\d+) (?P<message>.*)"), description="HPC cluster log; epoch in the 5th column."),
        Sourcetype("openstack", should_linemerge=False, extractions=x(
            r"^(?P<logrecord>\S+) \S+ \S+ (?P<pid>\d+) " + LEVEL + r" (?P<component>\S+) "
            r"\[(?P<request>[^\]]*)\] (?P<message>.*)",
            r'"(?P<method>[A-Z]+) (?P<uri>\S+) (?P<version>HTTP/[\d.]+)" status: (?P<status>\d+) '
            r"len: (?P<bytes>\d+) time: (?P<duration>[\d.]+)"),
            description="OpenStack (nova) logs prefixed with their file name."),
    ),
    signatures=(
        ("access_combined", r'^\S+ \S+ \S+ \[\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d[^\]]*\] "'),
        ("apache_error", r"^\[[A-Z][a-z]{2} [A-Z][a-z]{2} +\d+ [\d:.]+ \d{4}\] \["),
        ("kafka", r"^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}\] [A-Z]+ "),
        ("zookeeper", r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} - [A-Z]+ +\["),
        ("log4j", r"^\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d[,.]\d{3} +" + LEVEL + r" +\["),
        ("openstack", r"^\S+\.log\S* \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+ \d+ [A-Z]+ "),
        ("spark", r"^\d\d/\d\d/\d\d \d\d:\d\d:\d\d [A-Z]+ \S+: "),
        ("hdfs", r"^\d{6} \d{6} \d+ [A-Z]+ \S+: "),
        ("bgl", r"^\S+ 1\d{9} \d{4}\.\d\d\.\d\d \S+ \d{4}-\d\d-\d\d-\d\d\.\d\d\.\d\d"),
        ("hpc", r"^\d+ \S+ \S+ \S+ 1\d{9} \d+ "),
        ("syslog", r"^[A-Z][a-z]{2} +\d{1,2} \d\d:\d\d:\d\d \S+ [^\s:\[]+(?:\[\d+\])?: "),
        ("log4j", r"^\[?\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d[,.]\d{3}\]? +-? *" + LEVEL + r"\b"),
    ),
)
