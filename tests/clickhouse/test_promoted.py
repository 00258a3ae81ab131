"""Indexed fields on ClickHouse: read from the map `f` (not re-encoded as JSON), and hot fields
promoted to a column of their own (issue 17: "fields in Maps with hot fields promoted to
materialized columns"; research §5.3). An index's `promotedFields` setting adds the columns
(`ALTER TABLE ... ADD COLUMN ... MATERIALIZED`, old parts rewritten by `MATERIALIZE COLUMN`);
searches read them; an index without the column gives the same answers from its map. Expected
answers are counted here from the events written. chdb 26.9."""

from __future__ import annotations

import json
from collections import Counter

import pyarrow as pa
import pytest

from speleo.config import Home
from speleo.errors import InputError
from speleo.service import Service
from tests.clickhouse.conftest import backend_on

T0 = 1_700_000_000.0
NOW = T0 + 86400
N = 400


def docs(seed: int) -> list[dict]:
    out = []
    for i in range(N):
        d = {"status": ["200", "404", "500"][(i + seed) % 3], "user": ["bob", "amy", "eve", "joe"][i % 4]}
        if i % 7 == 0:
            del d["status"]                # some events lack the field
        if i % 11 == 0:
            d["status"] = ""               # and some hold an empty value
        out.append(d)
    return out


def batch(index: str, fields: list[dict]) -> pa.Table:
    n = len(fields)
    return pa.table({
        "_time": pa.array([T0 + i for i in range(n)], pa.float64()), "_raw": [f"event {i}" for i in range(n)],
        "host": ["h"] * n, "source": ["s"] * n, "sourcetype": ["app"] * n, "index": [index] * n,
        "_indextime": pa.array([T0] * n, pa.float64()), "_offset": pa.array(range(n), pa.int64()),
        "_fields": [json.dumps(f) for f in fields],
    })


@pytest.fixture(scope="module")
def ch(ch_client, tmp_path_factory):
    svc = Service(Home(tmp_path_factory.mktemp("chprom") / "home"), backend="chdb://in-this-process")
    svc._backend = backend_on(ch_client, "promoted_db")
    svc._backend.client.command("DROP DATABASE IF EXISTS promoted_db")
    svc.create_index("plain")
    svc.backend.write("plain", batch("plain", docs(1)), "p-1")
    svc.create_index("hot")
    svc.backend.write("hot", batch("hot", docs(2)), "h-1")              # written before the promotion
    svc.edit_index("hot", {"promotedFields": "status,user"})           # adds the columns, rewrites old parts
    svc.backend.write("hot", batch("hot", docs(0)[:100]), "h-2")       # and after it
    svc.backend.client.command("OPTIMIZE TABLE promoted_db.idx_hot FINAL")   # the mutation has finished
    return svc


def expected(*groups: list[dict]) -> Counter:
    c: Counter = Counter()
    for g in groups:
        for d in g:
            if "status" in d:            # an empty value is a value, as on the embedded engine
                c[(d["status"], d["user"])] += 1
    return c


def rows(svc, q: str) -> list[dict]:
    return svc.search(q, now=NOW, limit=0, capabilities=None).table.to_pylist()


def test_the_promoted_columns_exist_and_hold_the_map_values(ch):
    cl = ch.backend.client
    cols = {r[0]: r[1] for r in cl.query("SELECT name, type FROM system.columns WHERE database = 'promoted_db' "
                                         "AND table = 'idx_hot' AND startsWith(name, 'fp_')").result_rows}
    assert cols == {"fp_status": "Nullable(String)", "fp_user": "Nullable(String)"}
    stored = cl.query("SELECT count(), countIf(fp_status IS NULL), countIf(fp_status = '') FROM promoted_db.idx_hot").result_rows[0]
    every = docs(2) + docs(0)[:100]
    assert stored == (len(every), sum("status" not in d for d in every), sum(d.get("status") == "" for d in every))
    assert ch.index("hot")["settings"]["promotedFields"] == "status,user"


@pytest.mark.parametrize("index", ["hot", "plain", "*"])
def test_field_searches_give_the_same_answers_with_and_without_the_columns(ch, index):
    q = f"index={index} earliest=0 status=* | stats count by status user"
    got = {(r["status"], r["user"]): r["count"] for r in rows(ch, q)}
    want = {"hot": expected(docs(2), docs(0)[:100]), "plain": expected(docs(1)),
            "*": expected(docs(2), docs(0)[:100], docs(1))}[index]
    assert got == dict(want)
    n500 = rows(ch, f"index={index} earliest=0 status=500 | stats count")[0]["count"]
    assert n500 == sum(c for (s, _), c in want.items() if s == "500")


def test_the_hot_index_search_reads_the_column_and_events_keep_their_fields(ch):
    from speleo.query import engine

    compiled = engine.compile_for("index=hot earliest=0 status=500 | stats count by user", now=NOW)
    sql = ch.backend.explain(compiled).split("-- plan")[0]
    body = sql.split("__speleo_s0 AS", 1)[1]      # the search itself, after the events source
    # both fields come from their columns (user in the stage after the filter), not from the map
    # nor from the JSON text
    assert '"__speleo_fp_status"' in body and '"__speleo_fp_user"' in body
    assert 'mapContains("__speleo_f"' not in body and 'JSONHas("_fields"' not in body
    events = rows(ch, "index=hot earliest=0 status=404 | head 3")
    assert events and all(not any(k.startswith("__speleo") for k in e) for e in events)
    assert all(json.loads(e["_fields"])["status"] == "404" for e in events)


def test_bad_promoted_fields_are_refused(ch):
    with pytest.raises(InputError, match="cannot be a column"):
        ch.edit_index("hot", {"promotedFields": "status,bad-name"})
    with pytest.raises(InputError, match="cannot be a column"):
        ch.edit_index("hot", {"promotedFields": "x'); DROP TABLE y; --"})


def test_fields_given_a_new_value_in_a_subsearch_are_read_as_given(ch):
    # the subsearch's own stages (s0, s1...) are not the outer ones: its `_fields` is the new value
    q = ('index=hot earliest=0 | eval x=1 | join host [search index=hot earliest=0 | eval _fields="{\\"qq\\":\\"zz\\"}" '
         '| stats count as c by qq host] | stats count by qq')
    got = rows(ch, q)
    assert got == [{"qq": "zz", "count": len(docs(2)) + 100}]     # one host: every event joins
