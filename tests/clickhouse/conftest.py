"""One embedded ClickHouse engine (chdb) for the whole test process: chdb binds one data folder per
process (research §3.1), so every module shares this client and keeps to its own database."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def ch_client(tmp_path_factory):
    pytest.importorskip("chdb")
    from speleo.storage.clickhouse import client as chclient

    path = tmp_path_factory.mktemp("chdb")
    client = chclient.connect(chclient.parse_url(f"chdb://{path}"))
    chclient.check_version(client)          # the engine the docs name (26.9): fails on another chdb
    return client


def backend_on(client, database: str):
    from speleo.query.clickhouse import ClickHouseBackend
    from speleo.storage.clickhouse.ddl import Topology

    return ClickHouseBackend(client, Topology(database=database), display="chdb")
