"""Sourcetype registry: detection, search-time fields, kv regex, props.toml."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import duckdb
import pytest

from speleo import sourcetypes
from speleo.errors import InputError
from speleo.sourcetypes import BUILTIN, Props, detect, extract_fields, get, kv_regex, load_props

DETECTED = [
    ("loghub/Apache/Apache_2k.log", "apache_error"),
    ("loghub/BGL/BGL_2k.log", "bgl"),
    ("loghub/HDFS/HDFS_2k.log", "hdfs"),
    ("loghub/HPC/HPC_2k.log", "hpc"),
    ("loghub/Hadoop/Hadoop_2k.log", "log4j"),
    ("loghub/Linux/Linux_2k.log", "syslog"),
    ("loghub/OpenSSH/OpenSSH_2k.log", "linux_secure"),
    ("loghub/OpenStack/OpenStack_2k.log", "openstack"),
    ("loghub/Spark/Spark_2k.log", "spark"),
    ("loghub/Zookeeper/Zookeeper_2k.log", "zookeeper"),
    ("elastic-examples/apache/apache_logs", "access_combined"),
    ("elastic-examples/auth/auth.log", "linux_secure"),
    ("elastic-examples/nginx_json/nginxplus_json_logs", "json"),
    ("elastic-examples/kafka0/server.log", "kafka"),
    ("elastic-examples/kafka0/server.log.2016-12-19-16", "kafka"),
    ("elastic-examples/kafka0/server.log.2016-12-19-20", "kafka"),
]


def head(path: Path, n: int = 50) -> list[str]:
    return path.read_text(encoding="utf-8", errors="replace").splitlines()[:n]


@pytest.mark.parametrize("rel,expected", DETECTED)
def test_detect_real_files(data_dir: Path, rel: str, expected: str) -> None:
    assert detect(str(data_dir / rel), head(data_dir / rel)) == expected


@pytest.mark.parametrize(
    "source,lines,expected",
    [
        ("/var/log/app.log", [], "generic"),
        ("/var/log/x", ["a=1 b=2 c=3", "a=4 b=5 c=6"], "kv"),
        ("/var/log/x", ["hello", "world"], "generic_single_line"),
        ("/var/log/x", ["2020-01-01 00:00:00 started", "\tat x"], "generic"),
        ("/var/log/secure", ["Jun 14 15:16:01 h cron[1]: x"], "linux_secure"),
        ("/var/log/messages", ["Jun 14 15:16:01 h cron[1]: x"], "syslog"),
    ],
)
def test_detect_table(source: str, lines: list[str], expected: str) -> None:
    assert detect(source, lines) == expected


def test_builtin_names_and_unknown_defaults() -> None:
    for name in ("syslog", "linux_secure", "access_combined", "apache_error", "json", "log4j", "kv"):
        assert get(name).name == name
    assert get("nope") == sourcetypes.Sourcetype("nope")


def test_builtin_regexes_are_re2_compatible() -> None:
    con = duckdb.connect()
    for st in BUILTIN.values():
        for ex in st.extractions:
            assert sourcetypes.check_regex(ex.regex) is None, ex.regex
            con.execute("SELECT regexp_matches('x', ?)", [ex.regex]).fetchall()
    con.execute("SELECT regexp_matches('x', ?)", [kv_regex()]).fetchall()


def test_access_combined_fields(data_dir: Path) -> None:
    lines = head(data_dir / "elastic-examples" / "apache" / "apache_logs", 100_000)
    status = re.compile(r'^\S+ \S+ \S+ \[[^\]]+\] "[^"]*" (\d{3}) ')
    want = Counter(m[1] for m in map(status.match, lines) if m)
    got = Counter(extract_fields(line, "access_combined").get("status") for line in lines)
    assert got["404"] == want["404"] and got["200"] == want["200"] and want["404"] > 0
    f = extract_fields(lines[0], "access_combined")
    assert f == {
        "clientip": "83.149.9.216", "ident": "-", "user": "-", "method": "GET",
        "uri": "/presentations/logstash-monitorama-2013/images/kibana-search.png",
        "uri_path": "/presentations/logstash-monitorama-2013/images/kibana-search.png",
        "version": "HTTP/1.1", "status": "200", "bytes": "203023",
        "referer": "http://semicomplete.com/presentations/logstash-monitorama-2013/",
        "useragent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_9_1) AppleWebKit/537.36 (KHTML, like Gecko) "
                     "Chrome/32.0.1700.77 Safari/537.36",
    } | {  # CIM Web names (field aliases)
        "src": "83.149.9.216", "http_method": "GET", "bytes_out": "203023", "http_version": "HTTP/1.1",
        "http_referrer": "http://semicomplete.com/presentations/logstash-monitorama-2013/",
        "http_user_agent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_9_1) AppleWebKit/537.36 (KHTML, like Gecko) "
                           "Chrome/32.0.1700.77 Safari/537.36",
    }
    q = extract_fields('1.2.3.4 - bob [10/Oct/2000:13:55:36 -0700] "GET /a/b?x=1&y=2 HTTP/1.0" 404 -',
                       "access_combined")
    assert (q["uri_path"], q["uri_query"], q["user"], q["bytes"]) == ("/a/b", "x=1&y=2", "bob", "-")


def test_access_fields_agree_with_duckdb(data_dir: Path) -> None:
    lines = head(data_dir / "elastic-examples" / "apache" / "apache_logs", 300)
    regex = get("access_combined").extractions[0].regex
    names = sourcetypes.group_names(regex)  # DuckDB maps names to groups by position
    assert "" not in names
    rows = duckdb.connect().execute(
        "SELECT regexp_extract(l, ?, ?) FROM unnest(?) t(l)", [regex, names, lines]).fetchall()
    for (sql,), line in zip(rows, lines):
        py = extract_fields(line, "access_combined")
        assert {k: py.get(k, "") for k in names} == sql


@pytest.mark.parametrize(
    "raw,sourcetype,expected",
    [
        ("Jun 14 15:16:01 combo sshd(pam_unix)[19939]: check pass; user unknown", "syslog",
         {"syslog_host": "combo", "process": "sshd(pam_unix)", "pid": "19939", "message": "check pass; user unknown"}),
        ("Dec 10 06:55:48 LabSZ sshd[24200]: Failed password for invalid user webmaster from 173.234.31.186 port 38926 ssh2",
         "linux_secure", {"process": "sshd", "pid": "24200", "user": "webmaster", "src": "173.234.31.186",
                          "src_port": "38926", "action": "failure", "vendor_action": "Failed"}),
        ("Mar 27 13:08:09 ip-10-77-20-248 sshd[1361]: Accepted publickey for ubuntu from 85.245.107.41 port 54259 ssh2",
         "linux_secure", {"user": "ubuntu", "src": "85.245.107.41", "src_port": "54259", "action": "success", "vendor_action": "Accepted"}),
        ("[Sun Dec 04 20:47:17 2005] [error] [client 192.168.1.2] File does not exist: /var/www", "apache_error",
         {"level": "error", "client": "192.168.1.2", "message": "File does not exist: /var/www"}),
        ("2015-10-18 18:01:47,978 INFO [main] org.apache.X: Created it", "log4j",
         {"level": "INFO", "thread": "main", "component": "org.apache.X", "message": "Created it"}),
        ("[2016-12-19 16:48:21,224] WARN Error in fetch (kafka.server.ReplicaFetcherThread)\n\tat x", "kafka",
         {"level": "WARN", "message": "Error in fetch", "component": "kafka.server.ReplicaFetcherThread"}),
        ('{"a":{"b":1,"c":[1,2]},"ok":true,"n":null}', "json", {"a.b": "1", "a.c": ["1", "2"], "ok": "true"}),
        ('user=bob msg="hello world" n=1 n=2 empty= x.y-z=ok', "kv",
         {"user": "bob", "msg": "hello world", "n": ["1", "2"], "x.y-z": "ok"}),
    ],
)
def test_extract_fields_table(raw: str, sourcetype: str, expected: dict) -> None:
    got = extract_fields(raw, sourcetype)
    assert {k: got.get(k) for k in expected} == expected
    if sourcetype in ("json", "kv"):
        assert got == expected


@pytest.mark.parametrize(
    "text,pairs",
    [
        ("a=1 b=2", [("a", "1"), ("b", "2")]),
        ('k="v w" _z=3', [("k", '"v w"'), ("_z", "3")]),
        ("1a=2 x=y,z=w", [("x", "y"), ("z", "w")]),
        ("url?p=q&r=s", [("p", "q&r=s")]),
    ],
)
def test_kv_regex(text: str, pairs: list[tuple[str, str]]) -> None:
    assert [(m["key"], m["value"]) for m in re.finditer(kv_regex(), text)] == pairs


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "props.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_props_precedence(tmp_path: Path) -> None:
    props = load_props(write(tmp_path, """
[sourcetype.access_combined]
tz = "Europe/Paris"
max_lines = 5
extractions = ['foo=(?P<foo>\\w+)']

[source."/var/log/web/*.log"]
sourcetype = "access_combined"
tz = "UTC"
"""))
    assert isinstance(props, Props)
    st = get("access_combined", props, "/var/log/web/a.log")
    assert (st.tz, st.max_lines, st.extractions[-1].regex) == ("UTC", 5, r"foo=(?P<foo>\w+)")
    assert get("access_combined", props, "/other").tz == "Europe/Paris"
    assert props.sourcetype_for("/var/log/web/a.log") == "access_combined"


def test_splunk_named_groups_are_read_as_python_ones(tmp_path: Path) -> None:
    """props.conf EXTRACT regexes are PCRE: `(?<name>...)` names a group there."""
    props = load_props(write(tmp_path, "[sourcetype.x]\nextractions = ['(?<=id=)(?<n>\\d+)', '\\(?<k>']\n"))
    assert props.sourcetypes["x"]["extractions"] == [r"(?<=id=)(?P<n>\d+)", r"\(?<k>"]


@pytest.mark.parametrize(
    "text,words",
    [
        ("[sourcetype.x]\ncolour = 1\n", ["colour", "[sourcetype.\"x\"]"]),
        ("[source.\"*.log\"]\nbogus = true\n", ["bogus", "*.log"]),
        ("[sourcetype.x]\nmax_lines = \"many\"\n", ["max_lines"]),
        ("[sourcetype.x]\nextractions = ['(?<=a+)(?<n>x)']\n", ["(?<=a+)(?P<n>x)", "fixed-width"]),
        ("[sourcetype.x]\nline_breaker = '(?<=x)'\n", ["lookbehinds are not supported"]),
        ("[other]\n", ["other"]),
        ("not toml = = \n", ["props.toml"]),
    ],
)
def test_props_errors(tmp_path: Path, text: str, words: list[str]) -> None:
    path = write(tmp_path, text)
    with pytest.raises(InputError) as info:
        load_props(path)
    for word in words + [str(path)]:
        assert word in str(info.value)


def test_no_builtin_field_is_extracted_from_itself() -> None:
    """An extraction on another field reads it as the same sourcetype computes it (SQL builds
    that chain recursively): the fields a sourcetype reads from one another form no cycle."""
    for st in BUILTIN.values():
        reads: dict[str, set[str]] = {}
        for ex in st.extractions:
            for name in re.compile(ex.regex).groupindex:
                reads.setdefault(name, set()).add(ex.field)

        def reaches(start: str, target: str, seen: set[str]) -> bool:
            for src in reads.get(start, ()):
                if src == target or (src not in seen and reaches(src, target, seen | {src})):
                    return True
            return False

        assert not [n for n in reads if reaches(n, n, {n})], st.name


def test_translated_extraction_gives_no_field_for_unknown_text() -> None:
    got = extract_fields("Nov 20 10:00:00 fw1 %ASA-6-302014: Teardown TCP connection 1 for outside:1.2.3.4/5 "
                         "to inside:10.0.0.1/80 duration 0:00:01 bytes 100 TCP FINs", "cisco:asa")
    assert (got["action"], got["bytes"], got["transport"]) == ("teardown", "100", "tcp")
    got = extract_fields("Nov 20 10:00:00 gw kernel: LOGGED IN=eth0 OUT= SRC=1.2.3.4 DST=5.6.7.8 LEN=40 "
                         "PROTO=XYZ", "iptables")
    assert "action" not in got and "transport" not in got and got["rule"] == "LOGGED"
