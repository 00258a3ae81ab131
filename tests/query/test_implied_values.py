"""`field=value` on a search-time field copied from `_raw` also filters on the value's text
(SQL) and on its words (the term index), as Splunk's lexicon does (fields.conf INDEXED_VALUE).
Neither may change an answer: calculated, indexed and numeric-equal values must still match.

Expected counts are worked out by hand from the events each test writes.
"""

from __future__ import annotations

import json
import time

import numpy as np
import pyarrow as pa

from speleo.config import Home
from speleo.ingest.oneshot import add_oneshot
from speleo.query import engine
from speleo.service import Service

NOW = time.time()


def _write(svc, rows: list[dict]) -> None:
    w = svc.open_writer()
    cols = {k: [r.get(k) for r in rows] for k in ("_time", "_raw", "index", "sourcetype", "_fields")}
    w.store.append(pa.table(cols))
    w.store.seal()
    w.store.merge_hot(1)          # a warm bucket, with its term index sidecar
    w.store.collect_garbage(0)
    w.close()


def _events(raws: list[str], sourcetype: str = "kv", fields: list[str | None] | None = None) -> list[dict]:
    return [{"_time": NOW - 100 + i, "_raw": r, "index": "main", "sourcetype": sourcetype,
             "_fields": (fields or [None] * len(raws))[i]} for i, r in enumerate(raws)]


def _count(svc, query: str) -> int:
    return svc.search(query, limit=0).total


def _specialized(svc, query: str):
    compiled = engine.compile_for(query, now=NOW)
    p = engine.plan(svc.catalog, compiled)
    return engine.specialize(compiled, p), p


KV = ["login user=root ok", "login user=rootkit ok", "login USER=Root ok", "note user=alice about root",
      'login x=1 user="root"', "filler event number one", "filler event number two", "logout user=alice"]


def test_key_value_field_values_match_as_before_and_the_index_skips_rows_without_the_word(tmp_path):
    svc = Service(Home(tmp_path / "home"))
    _write(svc, _events(KV))
    # user=root: events 1 and 5 (the key match is case-sensitive, `USER=Root` is another field)
    assert _count(svc, "user=root") == 2
    assert _count(svc, "user=ROOT") == 2          # values compare case-insensitively
    assert _count(svc, "user=ro*") == 3           # root, rootkit, root
    assert _count(svc, "user=*kit") == 1
    assert _count(svc, "user IN (root, alice)") == 4
    assert _count(svc, "NOT user=root") == 6
    assert _count(svc, "user!=root") == 3         # rootkit, alice, alice

    compiled, p = _specialized(svc, "user=root")
    assert compiled.implied_fields == {"user"}
    assert "ILIKE '%root%'" in compiled.sql
    (rows,) = p.indexed.values()
    # the rows holding the word root in any case (events 1 to 5) are all the index leaves to read
    assert np.flatnonzero(rows.read).tolist() == [0, 1, 2, 3, 4]
    assert not rows.exact.any()                   # candidates only: the SQL decides


def test_a_value_an_extraction_cuts_from_inside_a_word_is_still_found(tmp_path):
    """A regex may capture part of a token (`abc` of `abcdef`): the index looks for tokens
    holding the value, not equal to it."""
    home = Home(tmp_path / "home")
    svc = Service(home)
    home.props_path.write_text('[source."*/ids.log"]\nsourcetype = "ids"\n\n'
                               '[sourcetype.ids]\nextractions = ["id=(?P<prefix>[a-z]{3})"]\n')
    log = tmp_path / "ids.log"
    log.write_text("2026-11-01 10:00:00 id=abcdef\n2026-11-01 10:00:01 id=xyzabc\n2026-11-01 10:00:02 id=abc\n")
    w = svc.open_writer()
    add_oneshot(w.ingestor, log, "main")
    w.store.seal()
    w.close()
    assert _count(svc, "index=main prefix=abc") == 2       # abcdef and abc (xyzabc gives xyz)
    compiled, _ = _specialized(svc, "index=main prefix=abc")
    assert "prefix" in compiled.implied_fields


def test_calculated_and_indexed_fields_are_not_looked_for_in_raw(tmp_path):
    svc = Service(Home(tmp_path / "home"))
    secure = ["Nov  1 10:00:00 web1 sshd[1]: Failed password for root from 10.0.0.1 port 22 ssh2",
              "Nov  1 10:00:01 web1 sshd[2]: Accepted password for bob from 10.0.0.2 port 22 ssh2",
              "Nov  1 10:00:02 web1 sshd[3]: Failed password for invalid user eve from 10.0.0.3 port 22 ssh2"]
    _write(svc, _events(secure, "linux_secure"))
    # CIM action is translated (Failed -> failure): `failure` is nowhere in _raw
    assert _count(svc, "sourcetype=linux_secure action=failure") == 2
    compiled, p = _specialized(svc, "sourcetype=linux_secure action=failure")
    assert "action" not in compiled.implied_fields and "ILIKE" not in compiled.sql
    # an indexed field (HEC `fields`) is not in _raw either
    svc2 = Service(Home(tmp_path / "home2"))
    _write(svc2, _events(["deploy done", "deploy done env=qa"], fields=[json.dumps({"env": "prod"}), None]))
    assert _count(svc2, "env=prod") == 1
    assert _count(svc2, "env=qa") == 1
    compiled, _ = _specialized(svc2, "env=prod")
    assert "env" not in compiled.implied_fields


def test_numbers_and_escaped_text_written_another_way_still_match(tmp_path):
    """A number compares as a number, and DuckDB reads `1_000`, `5e2` and long decimals as
    numbers equal to 1000 and 500 without their text holding those digits: numbers get no text
    filter. A JSON string may spell letters as \\u escapes: those events are left to the
    comparison. (Cases found by a review of this feature.)"""
    svc = Service(Home(tmp_path / "home"))
    _write(svc, _events(["n=5.0 a", "n=5 b", "n=500.0 c", "n=0500 d", "n=1_000 e", "n=499.99999999999999 f",
                         "n=5e2 g", "n=9007199254740992 h", '{"code": 500, "path": "a\\/b", "user": "r\\u006fot"}',
                         '{"code": 5000, "user": "root"}', "filler"]))
    assert _count(svc, "n=5") == 2                  # 5.0 and 5
    assert _count(svc, "n=5.0") == 2
    assert _count(svc, "n=500") == 4                # 500.0, 0500, 499.99999999999999, 5e2
    assert _count(svc, "n=1000") == 1               # 1_000
    assert _count(svc, "n=9007199254740993") == 1   # the same double as ...992
    assert _count(svc, "n IN (1000, 5)") == 3
    assert _count(svc, "NOT n=1000") == 10
    assert _count(svc, "code=500") == 1             # JSON number
    assert _count(svc, "path=a/b") == 1             # JSON wrote a\/b: `/` is never looked for
    assert _count(svc, "user=root") == 2            # one of them spelled r\u006fot
    assert _count(svc, "user=ro*") == 2
    compiled, p = _specialized(svc, "n=500")
    assert "CONTAINS(\"_raw\", '500')" not in compiled.sql
    compiled, p = _specialized(svc, "user=root")
    (rows,) = p.indexed.values()
    assert rows.read.sum() == 2                     # the index keeps the escaped row too


def test_a_later_search_that_reads_a_field_from_raw_does_not_narrow_the_first(tmp_path):
    """The term index applies only the first search's implied values: after `fields - _fields`
    or `eval _raw=` a later `| search` reads `env` from `_raw`, the first one from `_fields`."""
    svc = Service(Home(tmp_path / "home"))
    _write(svc, _events(["deploy done", "deploy done env=qa", "filler one"], fields=[json.dumps({"env": "prod"}), None, None]))
    assert _count(svc, 'env=prod | fields - _fields | eval _raw=_raw."" | search NOT env=prod') == 1
    assert _count(svc, 'env=prod | rename _fields as f | eval _raw=_raw."" | search NOT env=prod') == 1
    assert _count(svc, "env=prod | fields - _fields | search NOT env=prod") == 1
    compiled, _ = _specialized(svc, 'env=prod | fields - _fields | eval _raw=_raw."" | search NOT env=prod')
    assert compiled.implied_fields == frozenset()


def test_real_logs_answer_the_same_with_and_without_the_implied_filters(tmp_path, monkeypatch):
    """Differential: on real Apache, auth.log and Linux syslog files, every `field=value` and
    `field=val*` for the 5 most common values of each field counts the same events as the search
    without implied filters (the compiler's hook turned off), through the term index too."""
    from speleo.spl.commands import search as search_cmd
    from tests.conftest import data_path

    svc = Service(Home(tmp_path / "home"))
    w = svc.open_writer()
    for f in (data_path("elastic-examples", "apache", "apache_logs"), data_path("elastic-examples", "auth", "auth.log"),
              data_path("loghub", "Linux", "Linux_2k.log")):
        add_oneshot(w.ingestor, f, "main")
    w.store.merge_hot(1)
    w.store.collect_garbage(0)
    w.close()
    queries = []
    for field in ("user", "clientip", "status", "method", "uri_path", "action", "process", "pid", "src", "rhost"):
        rows = svc.search(f"index=main {field}=* | stats count by {field} | sort - count | head 5", limit=0).table.to_pylist()
        for v in (str(r[field]) for r in rows):
            if not any(c in v for c in ' "\\()[]=|,'):
                queries += [f"index=main {field}={v}", f"index=main {field}={v[:2]}*"]
    assert len(queries) > 40

    def counts() -> list[int]:
        return [svc.search(q + " | stats count", limit=0).table.to_pylist()[0]["count"] for q in queries]

    implied = counts()
    assert _specialized(svc, "index=main user=root")[0].implied_fields == {"user"}   # the filters were on
    monkeypatch.setattr(search_cmd, "implied_raw_condition", lambda *a, **k: None)
    assert counts() == implied
    assert sum(implied) > 0


def test_an_integer_is_looked_for_only_where_the_sourcetype_writes_it_as_digits(tmp_path):
    """`status=500`: in access_combined events (whose regex gives `status` as three digits) the
    text must hold `500`, unless key=value or JSON could give `status` instead; events of other
    sourcetypes are left to the comparison (`5_00` is 500 to DuckDB)."""
    svc = Service(Home(tmp_path / "home"))
    line = '10.0.0.{n} - - [01/Nov/2026:10:00:0{n} +0000] "GET /a HTTP/1.1" {status} 12 "-" "curl"'
    rows = _events([line.format(n=1, status=500), line.format(n=2, status=404), line.format(n=3, status=503)],
                   "access_combined")
    rows += _events(["broken line status=5_00", '{"status": 5e2}', "no status here 500"], "access_combined")
    rows += _events(["status=500.0 from kv", "status=5_00 from kv", "status=404"], "kv")
    _write(svc, rows)
    # access_combined: the 500 line, the kv 5_00 and the JSON 5e2 (the regex does not match them);
    # kv: 500.0 and 5_00
    assert _count(svc, "status=500") == 5
    assert _count(svc, "status IN (500, 404)") == 7
    assert _count(svc, "sourcetype=access_combined status=503") == 1
    compiled, _ = _specialized(svc, "status=500")
    assert "CONTAINS(\"_raw\", '500') OR CONTAINS(\"_raw\", 'status=')" in compiled.sql
