"""`speleo migrate --to`: an embedded home's buckets (less `| delete`d events) copied into ClickHouse
give the same answers there; running it again copies nothing twice."""

from __future__ import annotations

import pyarrow as pa
import pytest

from speleo.config import Home
from speleo.query.migrate import migrate
from speleo.service import Service
from tests.clickhouse.conftest import backend_on

T0 = 1_700_000_000.0


def batch(index: str, n: int, start: int) -> pa.Table:
    return pa.table({"_time": pa.array([T0 + start + i for i in range(n)], pa.float64()),
                     "_raw": [f"{index} user={'bob' if i % 4 == 0 else 'amy'} n={start + i}" for i in range(n)],
                     "host": [f"h{i % 2}" for i in range(n)], "source": ["s"] * n, "sourcetype": ["st"] * n,
                     "index": [index] * n})


@pytest.fixture(scope="module")
def copied(ch_client, tmp_path_factory):
    svc = Service(Home(tmp_path_factory.mktemp("home")), backend="")
    svc.catalog.ensure_index("web")
    writer = svc.open_writer()
    writer.store.append(batch("main", 40, 0))
    writer.store.seal()
    writer.store.append(batch("main", 20, 100))
    writer.store.append(batch("web", 10, 0))
    writer.store.seal()
    writer.close()
    svc.writer = None
    deleted = svc.search("index=main n=7 | delete", capabilities=None, now=T0 + 1000)
    assert deleted.table.to_pylist()[0]["deleted"] == 1
    be = backend_on(ch_client, "mig")
    be.client.command("DROP DATABASE IF EXISTS mig")
    report = migrate(svc.home, svc.catalog, be)
    return svc, be, report


def test_the_copy_answers_as_the_home_does(copied):
    svc, be, report = copied
    assert report["indexes"] == {"main": {"buckets": 2, "events": 59}, "web": {"buckets": 1, "events": 10},
                                 "_audit": {"buckets": 1, "events": 1}}       # the delete was audited
    from speleo.query import engine

    q = "index=main OR index=web earliest=0 | stats count by index, host"
    want = svc.search(q, now=T0 + 1000, limit=0).table.to_pylist()
    got = be.execute(engine.compile_for(q, now=T0 + 1000), limit=0).table.to_pylist()
    assert got == want
    assert sorted((r["index"], r["host"], r["count"]) for r in got) == \
        [("main", "h0", 30), ("main", "h1", 29), ("web", "h0", 5), ("web", "h1", 5)]   # n=7 (h1) deleted


def test_running_it_again_copies_nothing_twice(copied):
    svc, be, _ = copied
    migrate(svc.home, svc.catalog, be)
    assert be.client.query("SELECT count() FROM mig.idx_main").result_rows[0][0] == 59


def test_the_cli_copies_and_refuses_bad_urls(tmp_path):
    import json

    from tests.conftest import run_cli

    log = tmp_path / "app.log"
    log.write_text("one event\nanother event\nthird\n")
    home = tmp_path / "home"
    run_cli(home, "add", "oneshot", str(log), "--index", "main")
    done = run_cli(home, "migrate", "--to", f"chdb://{tmp_path / 'ch'}", "--output", "json")
    assert json.loads(done.stdout) == {"indexes": {"main": {"buckets": 1, "events": 3}}, "buckets": 1, "events": 3}
    bad = run_cli(home, "migrate", "--to", "mysql://db.example/x", check=False)
    assert bad.returncode != 0 and "clickhouse://host:8123/db" in bad.stderr + bad.stdout


def test_after_the_copy_the_clickhouse_home_counts_the_cluster_not_its_old_buckets(copied):
    # the buckets stay in the home (docs/scale-out.md) but searches read ClickHouse: `index show`
    # and `index list` count the 10 events of web once, as the 1 day partition they are in
    svc, be, _ = copied
    on_ch = Service(svc.home, backend="chdb://in-this-process")
    on_ch._backend = be
    shown = on_ch.index("web")
    assert (shown["events"], len(shown["clickhouse_days"]), shown["home_buckets_not_searched"]) == (10, 1, 1)
    assert next(r for r in on_ch.indexes() if r["name"] == "web")["events"] == 10
