"""Search-time fields on ClickHouse (spl.chrender): key=value, JSON (strings, numbers, booleans,
null, nested keys, an escaped key), a sourcetype's regexes and a translated (mapped) field run
natively on ClickHouse, and give the tables the embedded engine gives over the same events (the
embedded engine is the reference its golden tests check). Events written here; chdb 26.9."""

from __future__ import annotations

import json
import math

import pyarrow as pa
import pytest

from speleo.config import Home
from speleo.service import Service
from tests.clickhouse.conftest import backend_on

T0 = 1_700_000_000.0
NOW = T0 + 86400


def lines() -> list[tuple[str, str, str]]:
    """(sourcetype, host, _raw): each kind of extraction, with values that trip up renderings."""
    out = []
    for i in range(40):
        st = [200, 404, 500, 301][i % 4]
        out.append(("access_combined", f"web{i % 2}", f'10.0.0.{i} - - [14/Nov/2023:22:13:{i % 60:02d} +0000] '
                    f'"GET /p/{i % 5} HTTP/1.1" {st} {100 + i} "-" "curl/8"'))
        doc = {"level": ["error", "info"][i % 2], "code": [500, 200, 503.5][i % 3], "ok": i % 2 == 0,
               "none": None, "user": {"name": ["bob", "amy"][i % 2], "id": i}, 'odd"key': "q",
               "msg": 'a "quoted" word' if i % 5 == 0 else "plain"}
        out.append(("json", "app1", json.dumps(doc)))
        out.append(("kv", "app2", f'user={"bob" if i % 3 else "carol"} msg="hello {i % 2}" n={i}'))
        verb = ["Failed password", "Accepted password"][i % 2]
        out.append(("linux_secure", "srv1", f"Nov 14 22:13:{i % 60:02d} srv1 sshd[{100 + i}]: {verb} for "
                                            f"{['root', 'admin'][i % 2]} from 10.1.1.{i} port 22 ssh2"))
    return out


def table() -> pa.Table:
    rows = lines()
    n = len(rows)
    return pa.table({
        "_time": pa.array([T0 + i for i in range(n)], pa.float64()), "_raw": [r[2] for r in rows],
        "host": [r[1] for r in rows], "source": [f"/var/log/{r[0]}" for r in rows],
        "sourcetype": [r[0] for r in rows], "index": ["main"] * n,
        "_indextime": pa.array([T0] * n, pa.float64()), "linecount": pa.array([1] * n, pa.int32()),
        "_offset": pa.array(range(n), pa.int64()),
    })


@pytest.fixture(scope="module")
def both(ch_client, tmp_path_factory):
    root = tmp_path_factory.mktemp("chfields")
    embedded = Service(Home(root / "emb"))
    w = embedded.open_writer()
    w.store.append(table())
    w.store.seal()
    w.close()
    embedded.writer = None
    ch = Service(Home(root / "ch"), backend="chdb://in-this-process")
    ch._backend = backend_on(ch_client, "fields_db")
    ch._backend.client.command("DROP DATABASE IF EXISTS fields_db")
    ch._backend.write("main", table(), "fields-1")
    return embedded, ch


QUERIES = [
    "index=main status=404 | stats count",
    "index=main sourcetype=access_combined status>=400 | stats count by status | sort status",
    "index=main level=error | stats count",
    "index=main code=500 | stats count by code",
    "index=main sourcetype=json | stats count by code | sort code",
    "index=main ok=true | stats count",
    "index=main user.name=bob | stats count by level",
    "index=main sourcetype=json | stats count by none",
    "index=main user=carol | stats count",
    'index=main msg="hello 1" | stats count',
    "index=main sourcetype=json | stats count by msg | sort msg",
    "index=main action=failure | stats count by user",
    "index=main sourcetype=linux_secure | stats count by action, app | sort action",
    "index=main | stats count by sourcetype | sort sourcetype",
    "index=main | table _time sourcetype status user code | head 15",
]


def _normal(rows):
    return [{k: round(v, 9) if isinstance(v, float) and not math.isnan(v) else v for k, v in r.items()} for r in rows]


@pytest.mark.parametrize("query", QUERIES)
def test_fields_run_on_clickhouse_and_agree(both, query):
    embedded, ch = both
    want = embedded.search(query, now=NOW, limit=0, capabilities=None)
    got = ch.search(query, now=NOW, limit=0, capabilities=None)
    assert got.messages == []                 # natively on ClickHouse, not through the DuckDB fallback
    assert _normal(got.table.to_pylist()) == _normal(want.table.to_pylist())
    assert got.total == want.total


def test_the_figures_are_the_planted_ones(both):
    _, ch = both
    by = {r["code"]: r["count"] for r in ch.search("index=main sourcetype=json | stats count by code", now=NOW,
                                                   limit=0, capabilities=None).table.to_pylist()}
    assert by == {"500": 14, "200": 13, "503.5": 13}
    fails = ch.search("index=main action=failure | stats count by user", now=NOW, limit=0, capabilities=None)
    assert fails.table.to_pylist() == [{"user": "root", "count": 20}]
