"""The store of finished work units: one SQLite file, one row per unit, one commit per unit.

SQLite (standard library) in WAL mode with ``synchronous=NORMAL``: a commit is in the
write-ahead log before it returns, so a process killed with SIGKILL loses only the unit it
was computing; a power cut may also lose the last few commits, never corrupt the file.
Readers and writers in other processes wait on a busy timeout instead of failing.

A unit's value is a list of per-item records ``{field: np.ndarray}`` stored as raw array
bytes (see ``pack``), so a reload is bit-identical to what was computed.
"""
from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import Iterable

import numpy as np

FILENAME = "gpt2eval-cache.sqlite"
SCHEMA = """CREATE TABLE IF NOT EXISTS units (
    key TEXT PRIMARY KEY,  -- sha256 of everything that determines the unit's numbers
    kind TEXT NOT NULL,  -- spans | topk | logits
    model TEXT NOT NULL,  -- for `gpt2eval cache info` only; the key already covers it
    n_items INTEGER NOT NULL,
    value BLOB NOT NULL,
    created REAL NOT NULL
)"""


class WorkUnitStore:
    """The finished work units of runs (``units.Runner``), by content key: what lets a killed
    run resume. Not the KV cache of a shared prefix (``prefix.SharedPrefix``), nor the hub's
    download cache."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(self.path, timeout=600, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute(SCHEMA)

    def get_many(self, keys: list[str]) -> dict[str, list[dict]]:
        """The stored units among ``keys``: ``{key: records}``."""
        found = {}
        for lo in range(0, len(keys), 500):  # SQLite caps the number of bound parameters
            chunk = keys[lo : lo + 500]
            rows = self.db.execute(f"SELECT key, value FROM units WHERE key IN ({','.join('?' * len(chunk))})", chunk)
            found.update((key, unpack(value)) for key, value in rows)
        return found

    def put(self, key: str, kind: str, model: str, records: list[dict]) -> None:
        """Commit one unit (its own transaction: a kill loses nothing already put)."""
        self.db.execute(
            "INSERT OR REPLACE INTO units VALUES (?, ?, ?, ?, ?, ?)", (key, kind, model, len(records), pack(records), time.time())
        )

    def info(self) -> list[tuple[str, str, int, int, int]]:
        """``(model, kind, units, items, bytes)`` per model and kind."""
        rows = self.db.execute("SELECT model, kind, COUNT(*), SUM(n_items), SUM(LENGTH(value)) FROM units GROUP BY model, kind")
        return sorted(rows)

    def close(self) -> None:
        self.db.close()


def files_of(path: Path) -> list[Path]:
    """The database and its WAL side files."""
    return [p for p in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")) if p.exists()]


def find_stores(paths: Iterable[str]) -> list[Path]:
    """Work-unit store files at ``paths``: a store file itself, or every one under a folder."""
    found = []
    for p in map(Path, paths):
        if p.is_file():
            found.append(p)
        elif p.is_dir():
            found.extend(sorted(p.rglob(FILENAME)))
    return found


def pack(records: list[dict]) -> bytes:
    """Records (same fields, arrays of any length) -> a JSON header line + raw array bytes."""
    fields, chunks = [], []
    for name in sorted(records[0]) if records else []:
        arrays = [np.ascontiguousarray(r[name]) for r in records]
        fields.append({"name": name, "dtype": arrays[0].dtype.str, "tail": arrays[0].shape[1:], "lengths": [len(a) for a in arrays]})
        chunks.append(np.concatenate(arrays).tobytes())
    header = json.dumps({"n": len(records), "fields": fields}).encode()
    return header + b"\n" + b"".join(chunks)


def unpack(blob: bytes) -> list[dict]:
    head, _, body = blob.partition(b"\n")
    header = json.loads(head)
    records = [{} for _ in range(header["n"])]
    at = 0
    for f in header["fields"]:
        dtype, tail = np.dtype(f["dtype"]), tuple(f["tail"])
        width = int(np.prod(tail, dtype=np.int64)) * dtype.itemsize
        for record, n in zip(records, f["lengths"]):
            record[f["name"]] = np.frombuffer(body, dtype=dtype, count=n * width // dtype.itemsize, offset=at).reshape((n, *tail)).copy()
            at += n * width
    assert at == len(body), f"stored record size mismatch: {at} != {len(body)} bytes"
    return records
