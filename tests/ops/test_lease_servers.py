"""Two real `speleo serve` processes sharing one PostgreSQL operations database (separate homes):
exactly one holds each lease; kill -9 of the holder hands both to the other within the lease's
15 s; `speleo status` (the API's status) says who holds what."""

from __future__ import annotations

import os

from tests.conftest import ServerProc, wait_for


class SharedDb(ServerProc):
    db_url = ""

    def popen_kwargs(self) -> dict:
        return {"env": {**os.environ, "SPELEO_DATABASE_URL": self.db_url}}


def held(server) -> set[str]:
    status = server.api("GET", "/api/v1/status").json()["server"]
    return {x["lease"] for x in status["leases"] if x["held"]}


def test_one_server_holds_the_leases_and_the_other_takes_over(request, tmp_path):
    from tests.ops.pg import fresh_database

    SharedDb.db_url = fresh_database(request)
    a = SharedDb(tmp_path / "a" / "home")
    b = SharedDb(tmp_path / "b" / "home")
    try:
        a.start(timeout=60)
        b.start(timeout=60)
        both = {"ops-ticks", "alert-scheduler"}
        wait_for(lambda: held(a) | held(b) == both, timeout=30)
        assert held(a) == both and held(b) == set()      # the first server took both, the other waits
        a.kill9()
        wait_for(lambda: held(b) == both, timeout=40)    # 15 s after a's last renewal
    finally:
        b.stop()
        a.stop()
