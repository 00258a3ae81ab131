"""Term index sidecar: a bucket's lexicon of `_raw` tokens with posting lists of row numbers.

Beside each warm, cold or thawed bucket `X.parquet` lies `X.parquet.tidx` (the bucket stays a
plain Parquet file that any tool reads; the sidecar is only an accelerator, and a bucket
without one is searched as before). See docs/decisions/0035-term-index.md.

Tokens are the maximal runs of ASCII `[0-9a-z]` in `_raw` lower-cased byte by byte: exactly the
units today's term matching bounds a term by (`spl.nodes.term_regex`: a term matches where it is
not preceded nor followed by `[0-9a-z]`). Only tokens holding at least one letter are listed
(`covered`): digit-only tokens (byte counts, ports, epoch times, IP octets) are most of the
distinct tokens and most of the bytes, and stay with the per-row-group Bloom filter
(`storage.termindex`). A covered token absent from the lexicon is absent from the bucket.

Rows holding a character whose case mapping touches ASCII letters (the Kelvin sign, the long s,
the dotted capital I, the `ff` ligatures...: `UNSAFE_CHARS`) are listed apart (`unsafe`): the
SQL's case-insensitive matching may see there a token the byte tokenizer does not, so the
query layer always checks those rows with the search's own SQL.

File layout (little-endian): `SPLX` | u32 version | u32 n | n bytes of JSON header | u32 CRC-32
of the header | sections. The header gives rows, row groups (rows each), the size in bytes of
the Parquet file it describes, and each section's (offset, length, CRC-32). Sections are
zstd-compressed: `tokens` (the sorted lexicon: u32 offsets + UTF-8), `dir` (per row group, the
lexicon ids present, delta-coded, and their document frequencies), `post.<g>` (per row group
the local row numbers of each token in lexicon order, delta-coded per token, byte-planes
split), `unsafe` (u32 row numbers), `meta` (runs of (index, host, source, sourcetype) over the
rows, as JSON). A sidecar whose header, CRC, sizes or row counts disagree is `CorruptSidecar`.

A bucket rewritten row group for row group (the roll to cold, `storage.lifecycle`) keeps its
sidecar: `retarget` changes only the header's Parquet size.
"""

from __future__ import annotations

import json
import os
import struct
import zlib
from bisect import bisect_left
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

SUFFIX = ".tidx"
MAGIC = b"SPLX"
VERSION = 1
HEAD = struct.Struct("<4sII")
CRC = struct.Struct("<I")
ZSTD_LEVEL = 9
META_COLUMNS = ("index", "host", "source", "sourcetype")

# Characters whose lower, upper, title or case-folded form holds an ASCII letter or digit
# (enumerated over all of Unicode by tests/test_lexicon.py).
UNSAFE_CHARS = ("\u00df\u0130\u0131\u0149\u017f\u01f0\u1e96\u1e97\u1e98\u1e99\u1e9a\u1e9e\u212a"
                "\ufb00\ufb01\ufb02\ufb03\ufb04\ufb05\ufb06")

_LOWER = np.arange(256, dtype=np.uint8)
_LOWER[65:91] += 32
_ALNUM = np.zeros(256, dtype=bool)
_ALNUM[48:58] = True
_ALNUM[97:123] = True
_LETTER = np.zeros(256, dtype=bool)
_LETTER[97:123] = True


class CorruptSidecar(Exception):
    """A sidecar that cannot be trusted: truncated, bad checksum, or not this bucket's."""


def sidecar_path(bucket: Path) -> Path:
    """Where the sidecar of the bucket file `bucket` lies (`X.parquet` -> `X.parquet.tidx`)."""
    return bucket.with_name(bucket.name + SUFFIX)


def covered(token: str) -> bool:
    """Whether the lexicon lists `token` (a lower-case `[0-9a-z]+` run) when present: it holds a letter."""
    return any("a" <= c <= "z" for c in token)


# -- tokenizing -------------------------------------------------------------------------------


def _string_buffers(raw) -> tuple[np.ndarray, np.ndarray]:
    """(offsets rebased to 0, UTF-8 bytes) of a string array or chunked array (nulls as "")."""
    if isinstance(raw, pa.ChunkedArray):
        raw = raw.combine_chunks() if raw.num_chunks != 1 else raw.chunk(0)
    raw = pc.fill_null(raw, "") if raw.null_count else raw
    if raw.type != pa.large_string():
        raw = raw.cast(pa.large_string())
    offs = np.frombuffer(raw.buffers()[1], dtype=np.int64)[raw.offset: raw.offset + len(raw) + 1]
    data = raw.buffers()[2]
    data = np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, np.uint8)
    return offs - offs[0], data[offs[0]: offs[-1]]


def tokenize(raw) -> tuple[pa.Array, np.ndarray]:
    """The covered tokens of each row of a `_raw` array: (tokens as strings, row of each), in row
    order, duplicates kept. Byte-wise: A-Z lower-cased, any other byte (UTF-8 included) breaks."""
    offs, data = _string_buffers(raw)
    low = _LOWER[data]
    alnum = _ALNUM[low]
    edge = np.diff(alnum.view(np.int8), prepend=np.int8(0), append=np.int8(0))
    is_start, is_end = edge == 1, edge == -1
    inner = offs[1:-1]
    inner = inner[(inner > 0) & (inner < len(low))]
    glued = inner[alnum[inner] & alnum[inner - 1]]   # a row ending and the next starting with [0-9a-z]
    is_start[glued] = True
    is_end[glued] = True
    starts, ends = np.flatnonzero(is_start[:-1]), np.flatnonzero(is_end)
    if len(starts):
        keep = np.logical_or.reduceat(_LETTER[low], starts)   # a segment runs to the next start: gaps hold no letter
        starts, ends = starts[keep], ends[keep]
    rows = np.searchsorted(offs, starts, side="right") - 1
    lens = ends - starts
    toffs = np.concatenate([[0], np.cumsum(lens)]).astype(np.int64)
    picks = spans(starts, lens)
    tokens = pa.LargeStringArray.from_buffers(len(starts), pa.py_buffer(toffs), pa.py_buffer(low[picks].tobytes()))
    return tokens, rows.astype(np.int64)


def unsafe_rows(raw) -> np.ndarray:
    """Row numbers of a `_raw` array holding one of `UNSAFE_CHARS`."""
    offs, data = _string_buffers(raw)
    if not len(data) or not (data >= 0x80).any():
        return np.zeros(0, dtype=np.int64)
    hit = pc.match_substring_regex(raw, "[" + UNSAFE_CHARS + "]")
    return np.flatnonzero(pc.fill_null(hit, False).to_numpy(zero_copy_only=False)).astype(np.int64)


# -- building ---------------------------------------------------------------------------------


def _zstd(data: bytes) -> bytes:
    return pa.Codec("zstd", compression_level=ZSTD_LEVEL).compress(data, asbytes=True)


def _unzstd(data: bytes, size: int) -> bytes:
    return pa.Codec("zstd").decompress(data, decompressed_size=size, asbytes=True)


def _shuffle(a: np.ndarray) -> bytes:
    """u32 values as four byte planes (the high planes of small numbers compress to nothing)."""
    return np.ascontiguousarray(a.astype("<u4").view(np.uint8).reshape(-1, 4).T).tobytes()


def _unshuffle(b: bytes) -> np.ndarray:
    planes = np.frombuffer(b, dtype=np.uint8).reshape(4, -1)
    return np.ascontiguousarray(planes.T).view("<u4").reshape(-1)


def _delta(values: np.ndarray, firsts: np.ndarray) -> np.ndarray:
    """Differences to the previous value, restarting (value itself) at the positions `firsts`."""
    out = values.copy()
    out[1:] -= values[:-1]
    out[firsts] = values[firsts]
    return out


def spans(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The positions of consecutive ranges [starts[i], starts[i] + lengths[i]), concatenated."""
    lengths = np.asarray(lengths, dtype=np.int64)
    before = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    return np.arange(int(lengths.sum()), dtype=np.int64) + np.repeat(np.asarray(starts, dtype=np.int64) - before, lengths)


def _undelta(deltas: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Inverse of `_delta` for consecutive runs of `lengths` values."""
    total = np.cumsum(deltas, dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    base = np.where(starts > 0, total[np.maximum(starts - 1, 0)], 0)
    return total - np.repeat(base, lengths)


@dataclass
class _Group:
    rows: int
    tokens: pa.Array          # sorted distinct covered tokens of the row group
    df: np.ndarray            # rows holding each
    postings: bytes           # zstd of the delta-coded local rows, token after token
    postings_size: int


@dataclass
class Builder:
    """Builds a sidecar from a bucket's row groups, given in order (`add`), then `finish`.
    Memory: the compressed postings and the distinct tokens of each row group."""

    groups: list[_Group] = field(default_factory=list)
    unsafe: list[np.ndarray] = field(default_factory=list)
    runs: list[tuple[int, tuple]] = field(default_factory=list)   # (first row, (index, host, source, sourcetype))
    rows: int = 0

    def add(self, table: pa.Table) -> None:
        """Index one row group (a table with `_raw` and, when present, the META_COLUMNS)."""
        raw = table.column("_raw")
        n = table.num_rows
        tokens, rows = tokenize(raw)
        enc = pc.dictionary_encode(tokens)
        order = pc.array_sort_indices(enc.dictionary).to_numpy()
        rank = np.empty(len(order), dtype=np.int64)
        rank[order] = np.arange(len(order))
        key = np.sort((rank[enc.indices.to_numpy()] << 32) | rows)
        if len(key):
            key = key[np.concatenate([[True], key[1:] != key[:-1]])]
        tid, local = key >> 32, (key & 0xFFFFFFFF).astype(np.int64)
        df = np.bincount(tid, minlength=len(order)).astype(np.int64)
        firsts = np.concatenate([[0], np.cumsum(df)[:-1]]).astype(np.int64)[df > 0]
        plain = _shuffle(_delta(local, firsts)) if len(local) else b""
        self.groups.append(_Group(n, enc.dictionary.take(pa.array(order)), df, _zstd(plain), len(plain)))
        self.unsafe.append(unsafe_rows(raw) + self.rows)
        self._add_runs(table)
        self.rows += n

    def _add_runs(self, table: pa.Table) -> None:
        if table.num_rows == 0:
            return
        codes = []
        values = []
        for c in META_COLUMNS:
            if c not in table.column_names:
                codes.append(np.zeros(table.num_rows, dtype=np.int64))
                values.append([None])
                continue
            enc = pc.dictionary_encode(table.column(c).combine_chunks())
            idx = pc.fill_null(enc.indices, len(enc.dictionary)).to_numpy(zero_copy_only=False).astype(np.int64)
            codes.append(idx)
            values.append(enc.dictionary.to_pylist() + [None])
        differs = np.zeros(table.num_rows - 1, dtype=bool)
        for c in codes:
            differs |= c[1:] != c[:-1]
        change = np.flatnonzero(np.concatenate([[True], differs]))
        for start in change.tolist():
            combo = tuple(v[int(c[start])] for c, v in zip(codes, values))
            if not self.runs or self.runs[-1][1] != combo:
                self.runs.append((self.rows + start, combo))

    def finish(self, parquet_bytes: int) -> bytes:
        """The sidecar's bytes, for a Parquet file of `parquet_bytes` bytes."""
        every = [g.tokens for g in self.groups if len(g.tokens)]
        lexicon = pc.unique(pa.concat_arrays(every)) if every else pa.array([], pa.large_string())
        lexicon = lexicon.take(pc.array_sort_indices(lexicon))
        ids, dfs, counts = [], [], []
        for g in self.groups:
            present = g.df > 0
            gi = pc.index_in(g.tokens, value_set=lexicon).to_numpy(zero_copy_only=False).astype(np.int64)[present]
            counts.append(len(gi))
            ids.append(_delta(gi, np.zeros(1, dtype=np.int64)) if len(gi) else gi)
            dfs.append(g.df[present])
        sections = {
            "tokens": _pack_strings(lexicon),
            "dir": _shuffle(np.concatenate(ids + dfs)) if counts and sum(counts) else b"",
            "unsafe": _shuffle(np.concatenate(self.unsafe)) if self.unsafe else b"",
            "meta": json.dumps({"runs": [[s, list(c)] for s, c in self.runs]}).encode(),
        }
        blobs: dict[str, tuple[bytes, int]] = {k: (_zstd(v), len(v)) for k, v in sections.items()}
        for i, g in enumerate(self.groups):
            blobs[f"post.{i}"] = (g.postings, g.postings_size)
        header = {"version": VERSION, "rows": self.rows, "groups": [g.rows for g in self.groups],
                  "dir_counts": counts, "parquet_bytes": int(parquet_bytes), "tokens": len(lexicon),
                  "coverage": "letters", "sections": {}}
        pos = 0
        for name, (blob, size) in blobs.items():
            header["sections"][name] = [pos, len(blob), size, zlib.crc32(blob)]
            pos += len(blob)
        head = json.dumps(header, separators=(",", ":")).encode()
        return b"".join([HEAD.pack(MAGIC, VERSION, len(head)), head, CRC.pack(zlib.crc32(head))]
                        + [blob for blob, _ in blobs.values()])


def _pack_strings(arr: pa.Array) -> bytes:
    arr = arr.cast(pa.large_string())
    offs = np.frombuffer(arr.buffers()[1], dtype=np.int64)[arr.offset: arr.offset + len(arr) + 1]
    data = arr.buffers()[2]
    data = bytes(data)[offs[0]: offs[-1]] if data is not None else b""
    return struct.pack("<I", len(arr)) + (offs - offs[0]).astype("<u4").tobytes() + data


def _unpack_strings(b: bytes) -> list[str]:
    (n,) = struct.unpack_from("<I", b, 0)
    offs = np.frombuffer(b, dtype="<u4", count=n + 1, offset=4).astype(np.int64)
    base = 4 + 4 * (n + 1)
    arr = pa.LargeStringArray.from_buffers(n, pa.py_buffer(offs.tobytes()), pa.py_buffer(b[base:]))
    return arr.to_pylist()


def build_for_file(path: Path) -> bytes:
    """The sidecar of an existing Parquet bucket, read one row group at a time."""
    import pyarrow.parquet as pq

    pf = pq.ParquetFile(path)
    cols = ["_raw"] + [c for c in META_COLUMNS if c in pf.schema_arrow.names]
    builder = Builder()
    for i in range(pf.num_row_groups):
        builder.add(pf.read_row_group(i, columns=cols))
    return builder.finish(path.stat().st_size)


def retarget(blob: bytes, parquet_bytes: int) -> bytes:
    """The same sidecar describing a Parquet file of `parquet_bytes` bytes: only the header's
    `parquet_bytes` changes (its CRC-32 is recomputed; the sections are kept byte for byte, their
    offsets being relative to the end of the header). For a bucket rewritten with the same row
    groups (the roll to cold, `storage.lifecycle`). Raises CorruptSidecar when `blob` is not a
    sidecar whose header can be trusted."""
    probe = Lexicon.__new__(Lexicon)
    probe.blob = blob
    probe._parse_header()
    header = dict(probe.header, parquet_bytes=int(parquet_bytes))
    head = json.dumps(header, separators=(",", ":")).encode()
    return b"".join([HEAD.pack(MAGIC, VERSION, len(head)), head, CRC.pack(zlib.crc32(head)), blob[probe.base:]])


def write(bucket: Path, blob: bytes) -> Path:
    """Write a bucket's sidecar atomically: temp file, fsync, rename, fsync of the folder. A
    crash leaves either no sidecar or the whole one (a left-over `.tmp` is never read)."""
    from speleo.storage.durable import fsync_dir
    from speleo.storage.lifecycle import crash_point

    dest = sidecar_path(bucket)
    tmp = dest.with_name(dest.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(blob[: len(blob) // 2])
        crash_point("sidecar.half_written")   # tests: a kill -9 in the middle of the write
        f.write(blob[len(blob) // 2:])
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, dest)
    fsync_dir(dest.parent)
    return dest


# -- reading ----------------------------------------------------------------------------------


class Lexicon:
    """A loaded sidecar. Row numbers are positions in the bucket file (0-based)."""

    def __init__(self, blob: bytes, path: Path | None = None) -> None:
        self.blob = blob
        self.path = path
        try:
            self._parse_header()
            self.tokens = _unpack_strings(self._section("tokens"))
            self._parse_dir()
            self.unsafe = _unshuffle(self._section("unsafe")).astype(np.int64) if self.header["rows"] else \
                np.zeros(0, np.int64)
            self.runs = json.loads(self._section("meta"))["runs"]
        except CorruptSidecar:
            raise
        except Exception as e:  # noqa: BLE001 - any malformed content is corruption
            raise CorruptSidecar(f"unreadable sidecar: {type(e).__name__}: {e}") from e
        if len(self.tokens) != self.header["tokens"] or int(self.starts[-1]) != self.rows:
            raise CorruptSidecar("sidecar counts disagree with its header")

    def _parse_header(self) -> None:
        if len(self.blob) < HEAD.size:
            raise CorruptSidecar("sidecar truncated")
        magic, version, n = HEAD.unpack_from(self.blob, 0)
        if magic != MAGIC or version != VERSION:
            raise CorruptSidecar(f"not a version {VERSION} sidecar")
        head = self.blob[HEAD.size: HEAD.size + n]
        if len(head) != n or len(self.blob) < HEAD.size + n + CRC.size:
            raise CorruptSidecar("sidecar truncated")
        if CRC.unpack_from(self.blob, HEAD.size + n)[0] != zlib.crc32(head):
            raise CorruptSidecar("sidecar header checksum mismatch")
        self.header = json.loads(head)
        self.base = HEAD.size + n + CRC.size
        self.rows = int(self.header["rows"])
        self.parquet_bytes = int(self.header["parquet_bytes"])
        self.starts = np.concatenate([[0], np.cumsum(self.header["groups"], dtype=np.int64)])

    def _section(self, name: str) -> bytes:
        pos, length, size, crc = self.header["sections"][name]
        blob = self.blob[self.base + pos: self.base + pos + length]
        if len(blob) != length or zlib.crc32(blob) != crc:
            raise CorruptSidecar(f"sidecar section {name} checksum mismatch")
        return _unzstd(blob, size) if size else b""

    def _parse_dir(self) -> None:
        counts = np.asarray(self.header["dir_counts"], dtype=np.int64)
        flat = _unshuffle(self._section("dir")).astype(np.int64) if counts.sum() else np.zeros(0, np.int64)
        total = int(counts.sum())
        if len(flat) != 2 * total:
            raise CorruptSidecar("sidecar directory size mismatch")
        bounds = np.concatenate([[0], np.cumsum(counts)])
        self.group_ids: list[np.ndarray] = []
        self.group_df: list[np.ndarray] = []
        for g in range(len(counts)):
            a, b = int(bounds[g]), int(bounds[g + 1])
            self.group_ids.append(np.cumsum(flat[a:b]))
            self.group_df.append(flat[total + a: total + b])

    # -- lookups -------------------------------------------------------------------------------
    def ids_exact(self, token: str) -> list[int]:
        i = bisect_left(self.tokens, token)
        return [i] if i < len(self.tokens) and self.tokens[i] == token else []

    def ids_prefix(self, prefix: str) -> list[int]:
        lo = bisect_left(self.tokens, prefix)
        hi = lo
        while hi < len(self.tokens) and self.tokens[hi].startswith(prefix):
            hi += 1
        return list(range(lo, hi))

    def ids_where(self, pred) -> list[int]:
        """Lexicon ids of the tokens `pred(token)` accepts (a scan: suffixes, infixes)."""
        return [i for i, t in enumerate(self.tokens) if pred(t)]

    def count(self, token_id: int) -> int:
        """Rows holding one token (the sum of its per-row-group frequencies; no postings read)."""
        total = 0
        for ids, df in zip(self.group_ids, self.group_df):
            j = np.searchsorted(ids, token_id)
            if j < len(ids) and ids[j] == token_id:
                total += int(df[j])
        return total

    def rows_mask(self, token_ids: list[int]) -> np.ndarray:
        """Rows holding any of the tokens, as a boolean mask over the bucket's rows."""
        mask = np.zeros(self.rows, dtype=bool)
        if not token_ids:
            return mask
        wanted = np.asarray(sorted(token_ids), dtype=np.int64)
        for g, (ids, df) in enumerate(zip(self.group_ids, self.group_df)):
            pos = np.searchsorted(ids, wanted)
            ok = pos < len(ids)
            pos = pos[ok][ids[pos[ok]] == wanted[ok]]
            if not len(pos):
                continue
            mask[self.starts[g] + self._group_rows(g, df, pos)] = True
        return mask

    def _group_rows(self, g: int, df: np.ndarray, pos: np.ndarray) -> np.ndarray:
        """Local row numbers of the tokens at positions `pos` of row group g's directory: only
        their entries are gathered from the byte planes and summed (a rare token costs little)."""
        raw = self._section(f"post.{g}")
        if len(raw) != 4 * int(df.sum()):
            raise CorruptSidecar(f"sidecar postings of row group {g} size mismatch")
        planes = np.frombuffer(raw, dtype=np.uint8).reshape(4, -1)
        firsts = np.concatenate([[0], np.cumsum(df)[:-1]])
        idx = spans(firsts[pos], df[pos])
        deltas = (planes[0, idx].astype(np.int64) | planes[1, idx].astype(np.int64) << 8
                  | planes[2, idx].astype(np.int64) << 16 | planes[3, idx].astype(np.int64) << 24)
        local = _undelta(deltas, df[pos])
        if len(local) and (local.min() < 0 or local.max() >= self.header["groups"][g]):
            raise CorruptSidecar(f"sidecar postings of row group {g} out of range")
        return local

    def unsafe_mask(self) -> np.ndarray:
        mask = np.zeros(self.rows, dtype=bool)
        mask[self.unsafe] = True
        return mask

    def meta_table(self) -> tuple[pa.Table, np.ndarray]:
        """(distinct (index, host, source, sourcetype) combinations, row -> combination number)."""
        combos: dict[tuple, int] = {}
        run_ids = []
        for _, c in self.runs:
            run_ids.append(combos.setdefault(tuple(c), len(combos)))
        starts = np.asarray([s for s, _ in self.runs] + [self.rows], dtype=np.int64)
        per_row = np.repeat(np.asarray(run_ids, dtype=np.int64), np.diff(starts))
        cols = list(zip(*combos.keys())) if combos else [[] for _ in META_COLUMNS]
        table = pa.table({name: pa.array(list(v), pa.string()) for name, v in zip(META_COLUMNS, cols)})
        return table, per_row


def load(bucket: Path) -> Lexicon | None:
    """The sidecar of a bucket file, or None when it has none. Raises CorruptSidecar when one
    exists but cannot be trusted (also when it describes a file of another size)."""
    path = sidecar_path(bucket)
    try:
        blob = path.read_bytes()
    except FileNotFoundError:
        return None
    lex = Lexicon(blob, path)
    size = bucket.stat().st_size
    if lex.parquet_bytes != size:
        raise CorruptSidecar(f"sidecar describes a bucket of {lex.parquet_bytes} bytes, the file has {size}")
    return lex


def remove(bucket: Path) -> None:
    """Delete a bucket's sidecar (and a left-over temp file), if any: with its bucket, or after
    a purge, since the lexicon holds the bucket's words."""
    side = sidecar_path(bucket)
    side.unlink(missing_ok=True)
    side.with_name(side.name + ".tmp").unlink(missing_ok=True)
