"""The connection to ClickHouse from a backend URL, through clickhouse-connect.

`clickhouse://[user[:password]@]host[:port][/database][?cluster=NAME&secure=1]` speaks HTTP(S) to
a server or a cluster node (port 8123 by default, 8443 with `secure=1`); `chdb:///absolute/path`
runs the embedded engine (chdb, the same ClickHouse build) in this process on that folder: CI and a
single box. Options of both: `storage_policy=NAME` (the server's storage policy every index table
uses), `cold_volume=NAME&cold_after_days=N` (the tiers: ddl.Topology). Both give a clickhouse-connect client, so every statement goes through the same code
(research §3.3). The password never appears in `BackendUrl.display` (logs, status, errors).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qs, unquote, urlsplit

from speleo.errors import InputError
from speleo.storage.clickhouse.ddl import Topology

ENGINE_VERSION = "26.9"
"""The ClickHouse major.minor the layout and SQL were measured on (chdb 4.4.0 = ClickHouse
26.9.2.1). `check_version` refuses another one: the `text` index and Map serialization changed
between releases (research §7)."""


@dataclass(frozen=True)
class BackendUrl:
    """A parsed `--backend` URL (see the module docstring)."""

    kind: str                  # "clickhouse" (HTTP) or "chdb" (embedded)
    host: str = "localhost"
    port: int = 8123
    username: str = "default"
    password: str = field(default="", repr=False)
    secure: bool = False
    path: str | None = None    # chdb: the data folder
    topology: Topology = Topology()

    @property
    def display(self) -> str:
        """The URL without its password (safe for logs and messages)."""
        if self.kind == "chdb":
            return f"chdb://{self.path}"
        cluster = f"?cluster={self.topology.cluster}" if self.topology.cluster else ""
        return f"clickhouse://{self.username}@{self.host}:{self.port}/{self.topology.database}{cluster}"


def parse_url(text: str) -> BackendUrl:
    """Parse a backend URL. Raises InputError saying what is wrong and what is accepted."""
    parts = urlsplit(text)
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    unknown = set(query) - {"cluster", "secure", "database", "storage_policy", "cold_volume", "cold_after_days"}
    if unknown:
        raise InputError(f"backend URL {text.split('@')[-1]!r}: unknown option(s) {', '.join(sorted(unknown))} "
                         "(accepted: cluster, secure, database, storage_policy, cold_volume, cold_after_days)")
    tiers: dict = {"storage_policy": query.get("storage_policy"), "cold_volume": query.get("cold_volume")}
    if "cold_after_days" in query:
        try:
            tiers["cold_after_days"] = int(query["cold_after_days"])
        except ValueError:
            raise InputError(f"backend URL: cold_after_days={query['cold_after_days']!r} is not a whole number "
                             "of days") from None
    if parts.scheme == "chdb":
        path = unquote(parts.netloc + parts.path)
        if not path.startswith("/"):
            raise InputError(f"backend URL {text!r}: chdb needs an absolute folder, as chdb:///var/lib/speleo-ch")
        return BackendUrl("chdb", path=path, topology=Topology(database=query.get("database", "speleo"), **tiers))
    if parts.scheme != "clickhouse":
        raise InputError(f"backend URL scheme {parts.scheme!r} is not known: use clickhouse://host:8123/db "
                         "or chdb:///absolute/folder")
    secure = query.get("secure", "0").lower() in ("1", "true", "yes")
    db = parts.path.strip("/") or query.get("database", "speleo")
    try:
        port = parts.port or (8443 if secure else 8123)
    except ValueError as e:
        raise InputError(f"backend URL: bad port ({e})") from None
    return BackendUrl("clickhouse", host=parts.hostname or "localhost", port=port,
                      username=unquote(parts.username or "default"), password=unquote(parts.password or ""),
                      secure=secure, topology=Topology(database=db, cluster=query.get("cluster"), **tiers))


def connect(url: BackendUrl):
    """A clickhouse-connect client for `url` (zstd-compressed inserts over HTTP). Over HTTP no
    session id is sent: the server's search threads share the client, and ClickHouse refuses
    two queries at once in one session."""
    import clickhouse_connect

    if url.kind == "chdb":
        return clickhouse_connect.get_client(interface="chdb", path=url.path)
    return clickhouse_connect.get_client(host=url.host, port=url.port, username=url.username,
                                         password=url.password, secure=url.secure, compress="zstd",
                                         send_receive_timeout=300, autogenerate_session_id=False)


def check_version(client, expected: str = ENGINE_VERSION) -> str:
    """The server's version; raises InputError when its major.minor is not `expected`."""
    version = str(client.server_version)
    if ".".join(version.split(".")[:2]) != expected:
        raise InputError(f"ClickHouse {version} is not the version Speleo's ClickHouse layout is made for "
                         f"({expected}.x): upgrade or pin the server, or set SPELEO_CLICKHOUSE_ANY_VERSION=1 "
                         "to try anyway")
    return version


def check_tiers(client, topo: Topology) -> None:
    """Refuse a `storage_policy` the server does not define, or a `cold_volume` that policy has
    not (InputError naming what the server has): a misspelt policy would otherwise fail every
    insert later, in the sealer."""
    if topo.storage_policy is None:
        return
    rows = client.query("SELECT policy_name, volume_name FROM system.storage_policies").result_rows
    policies: dict[str, list[str]] = {}
    for policy, volume in rows:
        policies.setdefault(policy, []).append(volume)
    if topo.storage_policy not in policies:
        raise InputError(f"backend URL: storage_policy={topo.storage_policy!r} is not a storage policy of this "
                         f"ClickHouse server (it has: {', '.join(sorted(policies)) or 'none'}); see "
                         "docs/scale-out.md, \"tiers\"")
    if topo.cold_volume is not None and topo.cold_volume not in policies[topo.storage_policy]:
        raise InputError(f"backend URL: cold_volume={topo.cold_volume!r} is not a volume of storage policy "
                         f"{topo.storage_policy!r} (its volumes: {', '.join(policies[topo.storage_policy])})")
