"""Archive to an S3-compatible object store: a real local S3 server (moto's server mode, started
here), the archived Parquet read back by pyarrow straight from the store, thaw, and a store
that refuses (the bucket stays, the failure is reported, the next run succeeds)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time

import httpx
import pyarrow.parquet as pq
import pytest

from tests.conftest import free_port, run_cli
from tests.storage.test_lifecycle import DAY, T0, make_buckets, search_raw, show

boto3 = pytest.importorskip("boto3")


@pytest.fixture
def s3(monkeypatch):
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(url, timeout=1)
            break
        except httpx.HTTPError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                raise AssertionError("moto server did not start")
            time.sleep(0.2)
    for k, v in {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1",
                 "SPELEO_S3_ENDPOINT_URL": url}.items():
        monkeypatch.setenv(k, v)
    client = boto3.client("s3", endpoint_url=url)
    yield client
    proc.kill()
    proc.wait()


def test_archive_to_s3_read_back_by_pyarrow_and_thaw(tmp_path, s3):
    from speleo.config import Home

    home = Home(tmp_path / "home").ensure()
    s3.create_bucket(Bucket="frozen")
    lines = make_buckets(home, "s3x", [1, 2], {"coldToFrozenDir": "s3://frozen/speleo", "frozenTimePeriodInSecs": "1d"})
    now = T0 + 1.5 * DAY + DAY
    run_cli(home.root, "index", "retention", "run", "--now", str(now))
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket="frozen")["Contents"])
    assert [k.rsplit(".", 1)[1] for k in keys] == ["json", "parquet"] and keys[0].startswith("speleo/s3x/db_")
    body = s3.get_object(Bucket="frozen", Key=keys[1])["Body"].read()
    assert sorted(pq.read_table(io.BytesIO(body)).column("_raw").to_pylist()) == sorted(lines[1])
    meta = json.loads(s3.get_object(Bucket="frozen", Key=keys[0])["Body"].read())
    assert meta["event_count"] == len(lines[1])
    assert search_raw(home.root, "index=s3x") == sorted(lines[2])
    run_cli(home.root, "index", "thaw", "s3x", "--earliest", str(T0), "--latest", str(T0 + 1.9 * DAY))
    assert search_raw(home.root, "index=s3x") == sorted(lines[1] + lines[2])


def test_a_refusing_object_store_keeps_the_bucket_and_retries(tmp_path, s3):
    from speleo.config import Home

    home = Home(tmp_path / "home").ensure()
    lines = make_buckets(home, "s3y", [1], {"coldToFrozenDir": "s3://missing-bucket", "frozenTimePeriodInSecs": "1d"})
    now = T0 + 10 * DAY
    out = run_cli(home.root, "index", "retention", "run", "--now", str(now), "--output", "json")
    (fail,) = json.loads(out.stdout)["failures"]
    assert fail["action"] == "freeze" and "missing-bucket" in fail["error"]
    assert search_raw(home.root, "index=s3y") == sorted(lines[1])        # kept, still searchable
    s3.create_bucket(Bucket="missing-bucket")
    run_cli(home.root, "index", "retention", "run", "--now", str(now))
    assert search_raw(home.root, "index=s3y") == []
    assert len(show(home.root, "s3y")["archives"]) == 1
    assert os.listdir(home.index_dir("s3y")) in ([], ["thaweddb"], ["colddb"])
