"""Web servers and load balancers: nginx access and error logs, HAProxy's HTTP log.

Formats: nginx `log_format combined` and the `main` format of nginx's shipped nginx.conf
(combined plus `"$http_x_forwarded_for"`), nginx `error_log` lines (`YYYY/MM/DD HH:MM:SS
[level] pid#tid: *cid message, client: ..., server: ..., request: "...", host: "..."`);
HAProxy's `option httplog` and `option tcplog` lines (HAProxy configuration manual, "8.2.3.
HTTP log format", "8.2.2. TCP log format").
Field names follow the CIM Web data model (src, dest, http_method, uri_path, status, bytes_out...).
"""

from __future__ import annotations

from speleo.sourcetypes.base import IP, SYSLOG_TIME, Family, Sourcetype, alias, mapped, x
from speleo.sourcetypes.classic import ACCESS, ACCESS_CIM

_XFF = r'^(?:\S+ ){3}\[[^\]]+\] "[^"]*" \d{3} \S+ "[^"]*" "[^"]*" "(?P<http_x_forwarded_for>[^"]*)"'
_NGINX_ERROR = (
    r"^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d \[(?P<log_level>\w+)\] (?P<pid>\d+)#(?P<tid>\d+): "
    r"(?:\*(?P<connection_id>\d+) )?(?P<message>[^\n]*?)(?:, client: |\n|$)",
    r", client: (?P<src>" + IP + r")",
    r", server: (?P<dest>[^,\s]+)",
    r', request: "(?P<http_method>[A-Z]+) (?P<uri_path>[^\s?"]*)(?:\?(?P<uri_query>[^\s"]*))?',
    r', host: "(?P<site>[^"]+)"',
)
_LEVELS = {"debug": "informational", "info": "informational", "notice": "informational",
           "warn": "low", "error": "medium", "crit": "high", "alert": "high", "emerg": "critical"}
_HAPROXY = (
    r"(?:^|: )(?P<src>" + IP + r"):(?P<src_port>\d+) \[(?P<accept_date>[^\]]+)\] "
    r"(?P<frontend_name>\S+) (?P<backend_name>[^/\s]+)/(?P<server_name>\S+) "
    r"(?P<TR>-?\d+)/(?P<Tw>-?\d+)/(?P<Tc>-?\d+)/(?P<Tr>-?\d+)/(?P<Ta>\+?\d+) "
    r"(?P<status>-?\d+) (?P<bytes_out>\+?\d+) (?P<captured_request_cookie>\S+) "
    r"(?P<captured_response_cookie>\S+) (?P<termination_state>\S+) "
    r"(?P<actconn>\d+)/(?P<feconn>\d+)/(?P<beconn>\d+)/(?P<srv_conn>\d+)/(?P<retries>\+?\d+) "
    r"(?P<srv_queue>\d+)/(?P<backend_queue>\d+) (?:\{[^}]*\} )*"
    r'"(?P<http_method>[A-Z]+) (?P<uri_path>[^\s?"]*)(?:\?(?P<uri_query>[^\s"]*))?(?: (?P<http_version>HTTP/[\d.]+))?"',
)


# `option tcplog` (manual 8.2.2): the same head, three timers, bytes, the session state.
_HAPROXY_TCP = (
    r"(?:^|: )(?P<src>" + IP + r"):(?P<src_port>\d+) \[[^\]]+\] (?P<frontend_name>\S+) "
    r"(?P<backend_name>[^/\s]+)/(?P<server_name>\S+) (?P<Tw>-?\d+)/(?P<Tc>-?\d+)/(?P<Tt>\+?\d+) "
    r"(?P<bytes_out>\+?\d+) (?P<termination_state>[^\s/]+) (?P<actconn>\d+)/(?P<feconn>\d+)/(?P<beconn>\d+)/"
    r"(?P<srv_conn>\d+)/(?P<retries>\+?\d+) (?P<srv_queue>\d+)/(?P<backend_queue>\d+)$"
)

FAMILY = Family(
    sourcetypes=(
        Sourcetype("nginx_access", should_linemerge=False, extractions=x(ACCESS, _XFF) + ACCESS_CIM,
                   description="nginx access log: combined, or nginx.conf's `main` (adds X-Forwarded-For)."),
        Sourcetype("nginx_error", time_format="%Y/%m/%d %H:%M:%S", max_timestamp_lookahead=20,
                   extractions=x(*_NGINX_ERROR) + (mapped("severity", r"(?P<severity>.+)", _LEVELS, "log_level"),),
                   description="nginx error_log; a line that does not start with a time continues the event."),
        Sourcetype("haproxy:http", should_linemerge=False,
                   time_prefix=r"(?:^|: )(?:" + IP + r"):\d+ \[", extractions=x(*_HAPROXY, _HAPROXY_TCP)
                   + alias("dest", "server_name") + alias("response_time", "Tr") + alias("duration", "Ta"),
                   description="HAProxy `option httplog` / `tcplog` lines (syslog or stdout); _time: accept date."),
    ),
    signatures=(
        ("nginx_access", r'^\S+ \S+ \S+ \[\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d[^\]]*\] "[^"]*" \d{3} \S+ '
                         r'"[^"]*" "[^"]*" "[^"]*"$'),
        ("nginx_error", r"^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d \[(?:debug|info|notice|warn|error|crit|alert|emerg)\] "
                        r"\d+#\d+: "),
        ("haproxy:http", r"^(?:" + SYSLOG_TIME + r" \S+ \S+: )?(?:" + IP + r"):\d+ "
                         r"\[\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d\.\d{3}\] \S+ \S+/\S+ "),
    ),
    paths=(("access_combined", r"(?:^|/)nginx[^/]*/|nginx[^/]*$", "nginx_access"),),
)
