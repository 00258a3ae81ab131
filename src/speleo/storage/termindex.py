"""Term index: one Bloom filter per Parquet row group of a bucket, over the tokens of `_raw`.

A search with required terms reads only the row groups whose filter may hold every token of
every term, and skips a bucket when none may. Tokens are the maximal runs of `[a-z0-9]` in
`lower(_raw)`; a search term is split the same way (`10.0.0.1` requires `10`, `0` and `1`).
Hashes are DuckDB's `md5_number_lower/upper` of the token (MD5: stable across versions); the
k bit positions are `h1 + i*h2 mod m` (Kirsch–Mitzenmacher). About 10 bits per distinct token
of a row group and k = 4 give ~1% false positives; there are no false negatives.

Blob layout: magic b"SPB2" | u32 block count | per block (row group, in order):
u32 m (bits, a power of two) | u8 k | packed bits (little bit order, m/8 bytes).

Magic b"SPB3" marks a filter of the digit-only tokens alone (6 bits per token, ~6% false
positives), written for buckets whose term index sidecar (`storage.lexicon`) lists every token
holding a letter: it never prunes on a letter-holding token, so a bucket whose sidecar is lost
is read whole for those, never wrongly skipped.
"""

from __future__ import annotations

import re
import struct
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

MAGIC = b"SPB2"
MAGIC_DIGITS = b"SPB3"
DIGIT_BITS_PER_TOKEN = 6
DIGIT_TOKEN = re.compile(r"[0-9]+")
HEAD = struct.Struct("<4sI")
BLOCK = struct.Struct("<IB")
K = 4
BITS_PER_TOKEN = 10
MIN_BITS = 1 << 10
TOKEN_RE = re.compile(r"[a-z0-9]+")

_DISTINCT_HASHES = """
SELECT md5_number_lower(t) AS h1, md5_number_upper(t) AS h2 FROM (
  SELECT DISTINCT unnest(regexp_split_to_array(lower(_raw), '[^a-z0-9]+')) AS t FROM __bloom_src__
) WHERE t <> ''
"""
_DIGIT_FILTER = " AND regexp_full_match(t, '[0-9]+')"


def _positions(h1: np.ndarray, h2: np.ndarray, m: int) -> np.ndarray:
    h1 = h1.astype(np.uint64)
    h2 = h2.astype(np.uint64)
    mask = np.uint64(m - 1)
    return np.concatenate([(h1 + np.uint64(i) * h2) & mask for i in range(K)])


def block(con: duckdb.DuckDBPyConnection, rows: pa.Table, digits_only: bool = False) -> bytes:
    """The Bloom block of one row group (a table with a `_raw` column); of its digit-only
    tokens alone when `digits_only` (see MAGIC_DIGITS)."""
    con.register("__bloom_src__", rows.select(["_raw"]))
    try:
        hashes = con.sql(_DISTINCT_HASHES + (_DIGIT_FILTER if digits_only else "")).to_arrow_table()
    finally:
        con.unregister("__bloom_src__")
    n = hashes.num_rows
    m = MIN_BITS
    while m < n * (DIGIT_BITS_PER_TOKEN if digits_only else BITS_PER_TOKEN):
        m <<= 1
    bits = np.zeros(m, dtype=bool)
    if n:
        bits[_positions(hashes.column("h1").to_numpy(), hashes.column("h2").to_numpy(), m)] = True
    return BLOCK.pack(m, K) + np.packbits(bits, bitorder="little").tobytes()


def build_for_file(con: duckdb.DuckDBPyConnection, path: Path) -> bytes:
    """The term index of a Parquet bucket: one block per row group, read one at a time."""
    pf = pq.ParquetFile(path)
    return assemble([block(con, pf.read_row_group(i, columns=["_raw"])) for i in range(pf.num_row_groups)])


def assemble(blocks: list[bytes], digits_only: bool = False) -> bytes:
    """The term index blob of a bucket from its row groups' blocks, in order."""
    return HEAD.pack(MAGIC_DIGITS if digits_only else MAGIC, len(blocks)) + b"".join(blocks)


def term_tokens(term: str) -> list[str]:
    """The tokens a search term requires (lower-cased alphanumeric runs)."""
    return TOKEN_RE.findall(term.lower())


def token_hashes(con: duckdb.DuckDBPyConnection, tokens: list[str]) -> list[tuple[int, int]]:
    """(h1, h2) of each token, computed by the same DuckDB functions as the index."""
    if not tokens:
        return []
    rows = con.execute(
        "SELECT md5_number_lower(t), md5_number_upper(t) FROM unnest(?::VARCHAR[]) AS u(t)",
        [tokens],
    ).fetchall()
    return [(int(a), int(b)) for a, b in rows]


def _blocks(blob: bytes):
    magic, count = HEAD.unpack_from(blob, 0)
    if magic not in (MAGIC, MAGIC_DIGITS):
        return None
    pos, out = HEAD.size, []
    for _ in range(count):
        m, k = BLOCK.unpack_from(blob, pos)
        start = pos + BLOCK.size
        out.append((m, np.frombuffer(blob, dtype=np.uint8, count=m // 8, offset=start)))
        pos = start + m // 8
    return out


def block_count(blob: bytes | None) -> int:
    """Number of row-group blocks in a term index blob (0 when there is none)."""
    if not blob:
        return 0
    magic, count = HEAD.unpack_from(blob, 0)
    return count if magic in (MAGIC, MAGIC_DIGITS) else 0


def matching_row_groups(blob: bytes | None, hashes: list[tuple[int, int]],
                        tokens: list[str] | None = None) -> list[int] | None:
    """Row groups that may hold every token; None means "all" (no index or no tokens).
    `tokens` (aligned with `hashes`) lets a digit-only filter use the digit-only tokens alone."""
    if blob and blob[:4] == MAGIC_DIGITS:
        hashes = [h for h, t in zip(hashes, tokens or []) if DIGIT_TOKEN.fullmatch(t)]
    if not blob or not hashes:
        return None
    blocks = _blocks(blob)
    if blocks is None:
        return None
    h1 = np.array([h for h, _ in hashes], dtype=np.uint64)
    h2 = np.array([h for _, h in hashes], dtype=np.uint64)
    out = []
    for i, (m, bits) in enumerate(blocks):
        pos = _positions(h1, h2, m)
        present = (bits[pos >> np.uint64(3)] >> (pos & np.uint64(7)).astype(np.uint8)) & 1
        if present.all():
            out.append(i)
    return out


def might_contain(blob: bytes | None, hashes: list[tuple[int, int]], tokens: list[str] | None = None) -> bool:
    """False only when some token is certainly absent from every row group of the bucket."""
    groups = matching_row_groups(blob, hashes, tokens)
    return groups is None or bool(groups)
