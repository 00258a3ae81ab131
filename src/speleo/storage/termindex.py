"""Per-bucket term index: a Bloom filter of the lower-cased alphanumeric tokens of `_raw`.

A search whose required terms are not all (probably) in a bucket's filter skips that bucket.
Tokens are the maximal runs of `[a-z0-9]` in `lower(_raw)`; a search term is split the same
way, so a term like `10.0.0.1` requires the tokens `10`, `0` and `1`. Hashes are DuckDB's
`md5_number_lower/upper` of the token (stable across versions: MD5), and the k bit positions
are `h1 + i*h2 mod m` (Kirsch–Mitzenmacher). About 10 bits per distinct token, k = 4: ~1% false
positives; there are no false negatives.

Blob layout: magic b"SPB1" | u32 m (bits, a power of two) | u8 k | packed bits (little bit order).
"""

from __future__ import annotations

import re
import struct

import duckdb
import numpy as np
import pyarrow as pa

MAGIC = b"SPB1"
HEAD = struct.Struct("<4sIB")
K = 4
BITS_PER_TOKEN = 10
MIN_BITS = 1 << 12
TOKEN_RE = re.compile(r"[a-z0-9]+")

_DISTINCT_HASHES = """
SELECT md5_number_lower(t) AS h1, md5_number_upper(t) AS h2 FROM (
  SELECT DISTINCT unnest(regexp_split_to_array(lower(_raw), '[^a-z0-9]+')) AS t FROM __bloom_src__
) WHERE t <> ''
"""


def _positions(h1: np.ndarray, h2: np.ndarray, m: int) -> np.ndarray:
    h1 = h1.astype(np.uint64)
    h2 = h2.astype(np.uint64)
    mask = np.uint64(m - 1)
    return np.concatenate([(h1 + np.uint64(i) * h2) & mask for i in range(K)])


def build(con: duckdb.DuckDBPyConnection, events: pa.Table) -> bytes:
    """Build the Bloom filter blob of the `_raw` column of an Arrow table."""
    con.register("__bloom_src__", events.select(["_raw"]))
    try:
        hashes = con.sql(_DISTINCT_HASHES).to_arrow_table()
    finally:
        con.unregister("__bloom_src__")
    n = hashes.num_rows
    m = MIN_BITS
    while m < n * BITS_PER_TOKEN:
        m <<= 1
    bits = np.zeros(m, dtype=bool)
    if n:
        h1 = hashes.column("h1").to_numpy()
        h2 = hashes.column("h2").to_numpy()
        bits[_positions(h1, h2, m)] = True
    return HEAD.pack(MAGIC, m, K) + np.packbits(bits, bitorder="little").tobytes()


def term_tokens(term: str) -> list[str]:
    """The tokens a search term requires (lower-cased alphanumeric runs)."""
    return TOKEN_RE.findall(term.lower())


def token_hashes(con: duckdb.DuckDBPyConnection, tokens: list[str]) -> list[tuple[int, int]]:
    """(h1, h2) of each token, computed by the same DuckDB functions as `build`."""
    if not tokens:
        return []
    rows = con.execute(
        "SELECT md5_number_lower(t), md5_number_upper(t) FROM unnest(?::VARCHAR[]) AS u(t)",
        [tokens],
    ).fetchall()
    return [(int(a), int(b)) for a, b in rows]


def might_contain(blob: bytes | None, hashes: list[tuple[int, int]]) -> bool:
    """False only when some token is certainly absent from the bucket."""
    if not blob or not hashes:
        return True
    magic, m, k = HEAD.unpack_from(blob, 0)
    if magic != MAGIC:
        return True
    bits = np.frombuffer(blob, dtype=np.uint8, offset=HEAD.size)
    h1 = np.array([h for h, _ in hashes], dtype=np.uint64)
    h2 = np.array([h for _, h in hashes], dtype=np.uint64)
    pos = _positions(h1, h2, m)
    present = (bits[pos >> np.uint64(3)] >> (pos & np.uint64(7)).astype(np.uint8)) & 1
    return bool(present.all())
