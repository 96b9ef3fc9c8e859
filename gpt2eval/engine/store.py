"""The store of finished work units: one SQLite file, one row per unit, one commit per unit.

SQLite (standard library) in WAL mode with ``synchronous=NORMAL``: a commit is in the
write-ahead log before it returns, so a process killed with SIGKILL loses only the unit it
was computing; a power cut may also lose the last few commits, never corrupt the file.
Readers and writers in other processes wait on a busy timeout instead of failing.

A unit's value is a list of per-item records ``{field: np.ndarray}`` stored as raw array
bytes with a sha256 of them (see ``pack``), so a reload is bit-identical to what was
computed, and a flipped bit is caught rather than scored.

The store can only save work, never cost a run or change a number (``open_store``):

    what is wrong                              what happens
    the folder is a file, or not writable      one-line error before the model loads
    not a database, wrong schema, truncated    moved aside (one warning naming where), a fresh
                                               store opened: the work is recomputed
    a row that does not decode or verify       that unit counts as missing and is recomputed
    the file breaks or turns read-only later   one warning; the rest of the run is not cached
"""
from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import sys
import time
from pathlib import Path
from typing import Iterable

FILENAME = "gpt2eval-cache.sqlite"
DAMAGED = ".damaged-"  # a store moved aside: gpt2eval-cache.sqlite.damaged-20250101-120000
COLUMNS = ("key", "kind", "model", "n_items", "value", "created")
SCHEMA = """CREATE TABLE IF NOT EXISTS units (
    key TEXT PRIMARY KEY,  -- sha256 of everything that determines the unit's numbers
    kind TEXT NOT NULL,  -- spans | topk | logits
    model TEXT NOT NULL,  -- for `gpt2eval cache info` only; the key already covers it
    n_items INTEGER NOT NULL,
    value BLOB NOT NULL,
    created REAL NOT NULL
)"""


_OPENED: list[Path] = []  # stores this process writes to: an interrupted run says where its work is


def opened(reset: bool = False) -> list[Path]:
    """The stores opened for writing since the last reset (one CLI command)."""
    out = list(dict.fromkeys(_OPENED))
    if reset:
        _OPENED.clear()
    return out


class Damaged(Exception):
    """The file at a store's path is not a usable store (the message says why)."""


class WorkUnitStore:
    """The finished work units of runs (``units.Runner``), by content key: what lets a killed
    run resume. Not the KV cache of a shared prefix (``prefix.SharedPrefix``), nor the hub's
    download cache."""

    def __init__(self, path: Path, readonly: bool = False):
        """Open (and create) the store at ``path``; ``Damaged`` if the file is not one."""
        self.path = Path(path)
        self.readonly = readonly
        self.n_bad_rows = 0
        self.broken = None  # why caching stopped mid-run (a warning was printed), or None
        if not readonly:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(self.path, timeout=600, isolation_level=None)
        else:
            self.db = sqlite3.connect(f"{self.path.absolute().as_uri()}?mode=ro", uri=True, timeout=10)
        try:
            if not readonly:
                self.db.execute("PRAGMA journal_mode=WAL")
                self.db.execute("PRAGMA synchronous=NORMAL")
                self.db.execute(SCHEMA)
            check(self.db, self.path)
        except (sqlite3.Error, Damaged) as e:
            self.db.close()
            if isinstance(e, Damaged) or _is_damage(e):
                raise Damaged(_reason(e)) from None
            raise
        if not readonly:
            _OPENED.append(self.path)

    def get_many(self, keys: list[str]) -> dict[str, list[dict]]:
        """The stored units among ``keys``: ``{key: records}``; a row that does not decode is missing."""
        found, bad = {}, self.n_bad_rows
        try:
            for lo in range(0, len(keys), 500):  # SQLite caps the number of bound parameters
                chunk = keys[lo : lo + 500]
                rows = self.db.execute(f"SELECT key, value FROM units WHERE key IN ({','.join('?' * len(chunk))})", chunk)
                for key, value in rows:
                    try:
                        found[key] = unpack(value)
                    except (ValueError, KeyError, TypeError, AssertionError):
                        self.n_bad_rows += 1
        except sqlite3.Error as e:
            self._fail(e)
        if self.n_bad_rows > bad:
            print(f"warning: {self.n_bad_rows - bad:,} damaged unit(s) in the work-unit store {self.path} "
                  "(they do not decode): recomputed", file=sys.stderr)
        return found

    def put(self, key: str, kind: str, model: str, records: list[dict]) -> None:
        """Commit one unit (its own transaction: a kill loses nothing already put)."""
        if self.broken:
            return
        try:
            self.db.execute(
                "INSERT OR REPLACE INTO units VALUES (?, ?, ?, ?, ?, ?)", (key, kind, model, len(records), pack(records), time.time())
            )
        except sqlite3.Error as e:
            self._fail(e)

    def _fail(self, e: sqlite3.Error) -> None:
        """Caching stops for this run, with one warning; the run itself goes on."""
        if self.broken:
            return
        self.broken = _reason(e)
        what = "is damaged" if _is_damage(e) else "cannot be used"
        print(f"warning: the work-unit store {self.path} {what} ({self.broken}): the rest of this run is not cached"
              + ("; the next run moves it aside" if _is_damage(e) else ""), file=sys.stderr)

    def info(self) -> list[tuple[str, str, int, int, int]]:
        """``(model, kind, units, items, bytes)`` per model and kind."""
        rows = self.db.execute("SELECT model, kind, COUNT(*), SUM(n_items), SUM(LENGTH(value)) FROM units GROUP BY model, kind")
        return sorted(rows)

    def close(self) -> None:
        self.db.close()


def check(db: sqlite3.Connection, path: Path) -> None:
    """Cheap checks before any work: the schema, and a file no shorter than its pages."""
    columns = tuple(row[1] for row in db.execute("PRAGMA table_info(units)"))
    if columns != COLUMNS:
        raise Damaged(f"wrong schema: table units has columns {', '.join(columns) or 'none'}")
    page_size, pages = (db.execute(f"PRAGMA {p}").fetchone()[0] for p in ("page_size", "page_count"))
    wal = path.with_name(path.name + "-wal")
    if (not wal.exists() or wal.stat().st_size == 0) and path.exists() and path.stat().st_size < page_size * pages:
        raise Damaged(f"truncated: {path.stat().st_size:,} bytes of {page_size * pages:,}")
    db.execute("SELECT COUNT(*) FROM units").fetchone()


def open_store(path: Path) -> WorkUnitStore:
    """The store at ``path``, checked; a damaged one is moved aside with one warning line."""
    from gpt2eval.errors import UsageError

    try:
        return WorkUnitStore(path)
    except Damaged as e:
        try:
            moved = move_aside(Path(path))
        except OSError as err:
            raise UsageError(f"the work-unit store {path} is damaged ({e}) and cannot be moved aside ({err.strerror}): "
                             f"delete it (`gpt2eval cache clear {path}`) or pass --no-resume") from None
        print(f"warning: the work-unit store {path} is damaged ({e}): moved it to {moved}; its work is recomputed", file=sys.stderr)
        return WorkUnitStore(path)
    except sqlite3.Error as e:
        raise UsageError(f"cannot open the work-unit store {path} ({_reason(e)}): pass another --store-dir, or --no-resume") from None


def move_aside(path: Path) -> Path:
    """Rename the database and its WAL side files to ``<name>.damaged-<time>``; the new name."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target = path.with_name(f"{path.name}{DAMAGED}{stamp}")
    for p in files_of(path):
        os.replace(p, target.with_name(target.name + p.name[len(path.name):]))
    return target


def _is_damage(e: sqlite3.Error) -> bool:
    text = str(e).lower()
    damaged = ("not a database", "malformed", "no such table", "has no column", "columns but", "encrypted")
    return not isinstance(e, sqlite3.OperationalError) or any(d in text for d in damaged)


def _reason(e: BaseException) -> str:
    return str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__


def files_of(path: Path) -> list[Path]:
    """The database and its WAL side files."""
    return [p for p in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")) if p.exists()]


def find_stores(paths: Iterable[str], damaged: bool = False) -> list[Path]:
    """Work-unit store files at ``paths``: a store file itself, or every one under a folder
    (with ``damaged``, also the copies moved aside)."""
    found = []
    for p in map(Path, paths):
        if p.is_file():
            found.append(p)
        elif p.is_dir():
            found.extend(sorted(p.rglob(FILENAME)))
            if damaged:
                found.extend(sorted(q for q in p.rglob(f"{FILENAME}{DAMAGED}*") if not q.name.endswith(("-wal", "-shm"))))
    return found


def pack(records: list[dict]) -> bytes:
    """Records (same fields, arrays of any length) -> a JSON header line + raw array bytes.

    The header holds the body's sha256, so ``unpack`` refuses a unit whose bytes changed.
    """
    import numpy as np  # not at import time: the CLI imports this module for its Ctrl-C message

    fields, chunks = [], []
    for name in sorted(records[0]) if records else []:
        arrays = [np.ascontiguousarray(r[name]) for r in records]
        fields.append({"name": name, "dtype": arrays[0].dtype.str, "tail": arrays[0].shape[1:], "lengths": [len(a) for a in arrays]})
        chunks.append(np.concatenate(arrays).tobytes())
    body = b"".join(chunks)
    header = json.dumps({"n": len(records), "fields": fields, "sha256": hashlib.sha256(body).hexdigest()}).encode()
    return header + b"\n" + body


def unpack(blob: bytes) -> list[dict]:
    """The records of ``pack``; ValueError (or KeyError, TypeError) if the blob is damaged."""
    import numpy as np

    head, _, body = bytes(blob).partition(b"\n")
    header = json.loads(head)
    if "sha256" in header and hashlib.sha256(body).hexdigest() != header["sha256"]:  # rows written before it lack one
        raise ValueError("stored record checksum mismatch")
    records = [{} for _ in range(header["n"])]
    at = 0
    for f in header["fields"]:
        dtype, tail = np.dtype(f["dtype"]), tuple(f["tail"])
        width = int(np.prod(tail, dtype=np.int64)) * dtype.itemsize
        if len(f["lengths"]) != len(records):
            raise ValueError(f"stored record: {len(f['lengths'])} lengths for {len(records)} records")
        for record, n in zip(records, f["lengths"]):
            record[f["name"]] = np.frombuffer(body, dtype=dtype, count=n * width // dtype.itemsize, offset=at).reshape((n, *tail)).copy()
            at += n * width
    if at != len(body):
        raise ValueError(f"stored record size mismatch: {at} != {len(body)} bytes")
    return records
