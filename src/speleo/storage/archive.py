"""Where frozen buckets are archived (`coldToFrozenDir`): a folder, or an S3-compatible store.

An archived bucket is the bucket's own Parquet file, unchanged (any Parquet reader opens it
without Speleo: `pyarrow.parquet.read_table(path)`), beside a JSON description
`{index, earliest, latest, event_count, raw_bytes, size_bytes, sha256, profile}`. Names follow
Splunk's bucket folders, newest event first: `<index>/db_<latest>_<earliest>_<bucket id>.parquet`
(Splunk indexes.conf.spec `coldToFrozenDir`; Splunk keeps only the raw journal there, Speleo
keeps the whole Parquet file so a thaw needs no rebuild of the events).

A name depends only on the bucket, so an archive interrupted by a crash is redone under the
same name on the next run. S3: `s3://bucket/prefix`; boto3 finds credentials the usual way
(environment, `~/.aws`), and the endpoint in `$SPELEO_S3_ENDPOINT_URL` or `$AWS_ENDPOINT_URL`
(MinIO, Ceph, moto). Errors raise StorageError naming the location.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from speleo.errors import StorageError
from speleo.storage.durable import fsync_dir, fsync_file

CHUNK = 4 * 1024 * 1024


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(CHUNK):
            h.update(block)
    return h.hexdigest()


def object_name(b) -> str:
    """`<index>/db_<latest>_<earliest>_<id>.parquet` for a catalog bucket row."""
    return f"{b.index_name}/db_{int(b.max_time)}_{int(b.min_time)}_{b.id}.parquet"


def description(b, digest: str) -> dict:
    return {"index": b.index_name, "earliest": b.min_time, "latest": b.max_time, "event_count": b.event_count,
            "raw_bytes": b.raw_bytes, "size_bytes": b.size_bytes, "sha256": digest, "profile": b.profile}


class DirTarget:
    """Archive into a folder (`coldToFrozenDir=/path`)."""

    def __init__(self, root: str) -> None:
        self.root = Path(root)

    def put(self, src: Path, b) -> tuple[str, str]:
        """Copy bucket file `src` (row `b`) into the archive durably; returns (location, sha256)."""
        from speleo.storage.lifecycle import copy_durably

        dest = self.root / object_name(b)
        digest = sha256_of(src)
        try:
            copy_durably(src, dest)
            meta = dest.with_suffix(".json")
            meta.write_text(json.dumps(description(b, digest)))
            fsync_file(meta)
            fsync_dir(meta.parent)
        except OSError as e:
            raise StorageError(f"cannot archive into {self.root}: {e}") from e
        if sha256_of(dest) != digest:
            raise StorageError(f"archive copy {dest} does not match its source (checksum differs); kept the bucket")
        return str(dest), digest

    def get(self, location: str, dest: Path, digest: str) -> None:
        """Copy an archived file to `dest` durably and verify its checksum (StorageError)."""
        from speleo.storage.lifecycle import copy_durably

        if not Path(location).exists():
            raise StorageError(f"archived bucket {location} is missing")
        copy_durably(Path(location), dest)
        _verify(dest, digest, location)


class S3Target:
    """Archive into an S3-compatible object store (`coldToFrozenDir=s3://bucket/prefix`)."""

    def __init__(self, url: str) -> None:
        rest = url[len("s3://"):]
        self.bucket, _, prefix = rest.partition("/")
        self.prefix = prefix.strip("/")

    def _client(self):
        import boto3

        endpoint = os.environ.get("SPELEO_S3_ENDPOINT_URL") or os.environ.get("AWS_ENDPOINT_URL") or None
        return boto3.client("s3", endpoint_url=endpoint)

    def _key(self, name: str) -> str:
        return f"{self.prefix}/{name}" if self.prefix else name

    def put(self, src: Path, b) -> tuple[str, str]:
        digest = sha256_of(src)
        key = self._key(object_name(b))
        try:
            s3 = self._client()
            s3.upload_file(str(src), self.bucket, key, ExtraArgs={"Metadata": {"sha256": digest}})
            s3.put_object(Bucket=self.bucket, Key=key[: -len(".parquet")] + ".json",
                          Body=json.dumps(description(b, digest)).encode())
            head = s3.head_object(Bucket=self.bucket, Key=key)
        except Exception as e:   # botocore raises many kinds: all mean "not archived"
            raise StorageError(f"object store refused the archive of bucket {b.id} to s3://{self.bucket}/{key}: {e}") from e
        if head.get("ContentLength") != src.stat().st_size:
            raise StorageError(f"s3://{self.bucket}/{key} holds {head.get('ContentLength')} bytes, expected "
                               f"{src.stat().st_size}; kept the bucket")
        return f"s3://{self.bucket}/{key}", digest

    def get(self, location: str, dest: Path, digest: str) -> None:
        key = location[len(f"s3://{self.bucket}/"):]
        tmp = dest.with_name(dest.name + ".tmp")
        dest.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._client().download_file(self.bucket, key, str(tmp))
        except Exception as e:
            raise StorageError(f"cannot fetch {location} from the object store: {e}") from e
        fsync_file(tmp)
        os.replace(tmp, dest)
        fsync_dir(dest.parent)
        _verify(dest, digest, location)


def _verify(dest: Path, digest: str, location: str) -> None:
    if sha256_of(dest) != digest:
        dest.unlink(missing_ok=True)
        raise StorageError(f"archived bucket {location} is damaged (sha256 differs from the one recorded)")


def target_for(setting: str):
    """The archive target of a `coldToFrozenDir` value."""
    return S3Target(setting) if setting.startswith("s3://") else DirTarget(setting)


def target_for_location(location: str):
    """The target that can read back an archive location (a path or an s3:// URL)."""
    if location.startswith("s3://"):
        return S3Target(location.rsplit("/", 1)[0])
    return DirTarget(str(Path(location).parent))
