"""Reading evaluation data: original files (plain or .gz/.zip), checksums, and the hub.

Every file read is recorded with its sha256; files we know are checked against their
published checksums, and a mismatch is a loud warning naming the file.
"""
from __future__ import annotations

import gzip
import hashlib
import sys
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from .errors import UsageError

# sha256 of the original (uncompressed) test files, as published (see shared/data/SOURCES.md).
KNOWN_SHA256 = {
    "ptb/ptb.test.txt": "dd65dff31e70846b2a6030a87482edcd5d199130cdcfa1f3dccbb033728deee0",
    "wikitext-2/wiki.test.tokens": "d790b833ef8cf03a90db7bf1271b7520b83c45ce07ba3c1a9699df81e239eca0",
    "wikitext-2/wiki.test.raw": "173c87a53759e0201f33e0ccf978e510c2042d7f2cb78229d9a50d79b9e7dd08",
    "wikitext-103/wiki.test.tokens": "56db52eb157b1ab5c89646eef70510c1eca6e12a3bfdb99f0d6b05b4eacb75b9",
    "lambada/lambada_test.jsonl": "4aa8d02cd17c719165fc8a7887fddd641f43fcafa4b1c806ca8abc31fabdb226",
    "1bw/news.en.heldout-00000-of-00050": "265dccd51762253e20425c21ff6ddf09e6da2e11a365da399b0390eebb2d52c8",
}


@dataclass
class DataRecord:
    """Which data a run read: goes into the result file as ``data``."""

    files: list = field(default_factory=list)  # [{path, sha256, bytes, checksum}]
    hub: Optional[dict] = None  # {path, name, split, revision} when loaded through `datasets`

    def as_dict(self) -> dict:
        return {"files": self.files, "hub": self.hub}


def find_file(data_dir: str, relative: str, what: str) -> Path:
    """``data_dir/relative``, or the same with ``.gz`` / ``.zip`` appended."""
    base = Path(data_dir).expanduser()
    for suffix in ("", ".gz", ".zip"):
        path = base / (relative + suffix)
        if path.is_file():
            return path
    raise UsageError(
        f"{what}: {base / relative} not found (also tried .gz/.zip): "
        f"point --data-dir at a folder laid out like shared/data, or drop --data-dir to use the hub"
    )


def read_bytes(path: Path, record: DataRecord) -> bytes:
    """File content, decompressed; its sha256 is recorded and checked."""
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"data file {path} not found: check the path")
    try:
        if path.suffix == ".gz":
            data = gzip.decompress(path.read_bytes())
        elif path.suffix == ".zip":
            with zipfile.ZipFile(path) as z:
                names = [n for n in z.namelist() if not n.endswith("/")]
                if len(names) != 1:
                    raise UsageError(f"{path} holds {len(names)} files; expected exactly one: unzip it and pass the file")
                data = z.read(names[0])
        else:
            data = path.read_bytes()
    except (OSError, EOFError, zlib.error, zipfile.BadZipFile, gzip.BadGzipFile, NotImplementedError, RuntimeError) as e:
        # zlib.error: damaged deflate data; RuntimeError: an encrypted zip; NotImplementedError: a zip method
        raise UsageError(f"cannot read {path} ({e}): the file looks corrupt; download it again") from None
    digest = hashlib.sha256(data).hexdigest()
    record.files.append({"path": str(path), "sha256": digest, "bytes": len(data), "checksum": _check(path, digest)})
    return data


def read_text(path: Path, record: DataRecord) -> str:
    data = read_bytes(path, record)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise UsageError(f"{path} is not UTF-8 text (byte {e.start}): convert it to UTF-8 first") from None


def _check(path: Path, digest: str) -> str:
    name = path.name.removesuffix(".gz").removesuffix(".zip")
    return verify(f"{path.parent.name}/{name}", digest, str(path))


def verify(key: Optional[str], digest: str, label: str) -> str:
    """'ok', 'mismatch' or 'unknown' against the published checksum ``KNOWN_SHA256[key]``."""
    if key not in KNOWN_SHA256:
        return "unknown"
    if digest == KNOWN_SHA256[key]:
        return "ok"
    print(
        f"warning: {label} does not match the published sha256 of {key} "
        f"({digest[:12]}... != {KNOWN_SHA256[key][:12]}...): results are not comparable to the paper",
        file=sys.stderr,
    )
    return "mismatch"


@dataclass(frozen=True)
class HubDataset:
    """A split on the hub, as ``datasets.load_dataset(path, name, split=split)`` sees it."""

    path: str
    name: Optional[str]
    split: str
    column: str
    data_files: Optional[object] = None  # for local files in the hub schema (tests)


def load_hub_column(hub: HubDataset, record: DataRecord) -> list:
    """One column of a hub split. Offline (HF_HUB_OFFLINE=1) this reads the local cache."""
    import datasets

    from .models import quiet_hub_retries

    quiet_hub_retries()
    try:
        ds = datasets.load_dataset(hub.path, hub.name, split=hub.split, data_files=hub.data_files)
    except Exception as e:  # datasets raises many types (ConnectionError, FileNotFoundError, ...)
        raise UsageError(
            f"cannot load {hub.path}{'/' + hub.name if hub.name else ''} from the hub ({type(e).__name__}): "
            "pass --data-dir with the original files, or pre-fetch with `gpt2eval download`"
        ) from None
    if hub.column not in ds.column_names:
        raise UsageError(f"{hub.path} has no column {hub.column!r} (has {ds.column_names}): wrong dataset?")
    record.hub = {"path": hub.path, "name": hub.name, "split": hub.split, "fingerprint": ds._fingerprint}
    return ds[hub.column]
