"""Reading evaluation data: original files (plain or .gz/.zip), checksums, and the hub.

Every file read is recorded with its sha256 and checked against the published checksum.
Two rules, on purpose different:

- a file rebuilt from hub rows that is not the original byte for byte is an error
  (``check_rebuilt``) unless ``--allow-data-mismatch``: the rows are our choice of source,
  and a mismatch means another split, order or cleaning that the user never asked for;
- a file the user gives (``--data-dir``) is scored whatever it holds, since it is theirs
  to choose (a subset such as half of ptb.test.txt, a corrected copy), but a mismatch is
  never silent: a warning naming the file, ``checksum: mismatch`` in the result, and a
  marker on the run's summary line, in ``gpt2eval table`` (a † footnote "data differ") and
  in ``gpt2eval compare`` (refused without ``--ignore-config``). ``mismatched`` reads it
  back from a result.
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
from urllib.parse import quote, unquote

from gpt2eval.errors import UsageError

# sha256 of the original (uncompressed) test files, as published (see shared/data/SOURCES.md).
KNOWN_SHA256 = {
    "ptb/ptb.test.txt": "dd65dff31e70846b2a6030a87482edcd5d199130cdcfa1f3dccbb033728deee0",
    "wikitext-2/wiki.test.tokens": "d790b833ef8cf03a90db7bf1271b7520b83c45ce07ba3c1a9699df81e239eca0",
    "wikitext-2/wiki.test.raw": "173c87a53759e0201f33e0ccf978e510c2042d7f2cb78229d9a50d79b9e7dd08",
    "wikitext-103/wiki.test.tokens": "56db52eb157b1ab5c89646eef70510c1eca6e12a3bfdb99f0d6b05b4eacb75b9",
    "lambada/lambada_test.jsonl": "4aa8d02cd17c719165fc8a7887fddd641f43fcafa4b1c806ca8abc31fabdb226",
    "1bw/news.en.heldout-00000-of-00050": "265dccd51762253e20425c21ff6ddf09e6da2e11a365da399b0390eebb2d52c8",
    # No published checksum exists for the original LAMBADA release's test file: this is the
    # file of lambada-dataset.tar.gz as stored in Victorwz/VaLM (shared/data/SOURCES.md),
    # 5,153 lines in the order of OpenAI's jsonl, so a hub rebuild is held to it too.
    "lambada/lambada_test_plain_text.txt": "4ab6062b68422bf2e83653d367c9765d42404f7ec21b8b59b6518b45606aaef2",
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
    if not path.exists():
        raise UsageError(f"data file {path} not found: check the path")
    if path.is_dir():
        raise UsageError(f"data file {path} is a folder: pass a file")
    # Not only regular files: `--data-file <(zcat x.gz)` is a pipe, read once, like any file.
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
    """A split on the hub, as ``datasets.load_dataset(path, name, split=split)`` sees it.

    Every built-in task names parquet files (``path="parquet"``, ``data_files`` of
    ``hf://datasets/<repo>@<revision>/<file>``; see ``parquet_files``), so no loading script
    ever runs (``datasets`` >= 4 refuses them) and only the one split is downloaded.
    """

    path: str
    name: Optional[str]
    split: str
    column: str
    data_files: Optional[object] = None  # {split: file or [files]}: hf:// URLs, or local files (tests)


def parquet_files(repo: str, revision: str, column: str, split: str, **files: str) -> HubDataset:
    """A hub source of parquet files in ``repo`` at ``revision``: ``{split: path in the repo}``.

    ``revision="refs/convert/parquet"`` is the hub's own parquet export of a repository,
    laid out ``<config>/<split>/0000.parquet``; it exists for script-based repositories too.
    """
    rev = quote(revision, safe="")
    return HubDataset("parquet", None, split, column, {s: f"hf://datasets/{repo}@{rev}/{f}" for s, f in files.items()})


def hub_label(hub: HubDataset) -> str:
    """``repo@revision`` of a parquet source, else ``path/name``: for messages and the table."""
    parsed = _parse_hf(next(iter(_split_files(hub))) if hub.data_files else "")
    if parsed:
        repo, revision, _ = parsed
        return f"{repo}@{revision}"
    return f"{hub.path}{'/' + hub.name if hub.name else ''}"


def _split_files(hub: HubDataset) -> list:
    files = hub.data_files.get(hub.split, []) if isinstance(hub.data_files, dict) else hub.data_files or []
    return [files] if isinstance(files, str) else list(files)


def _parse_hf(url: str) -> Optional[tuple[str, str, str]]:
    """(repo, revision, path in the repo) of ``hf://datasets/<repo>@<revision>/<path>``."""
    if not url.startswith("hf://datasets/"):
        return None
    owner, name, rest = url.removeprefix("hf://datasets/").split("/", 2)
    name, _, revision = name.partition("@")
    return f"{owner}/{name}", unquote(revision or "main"), rest


def _fetch(url: str) -> str:
    """A hub file in the Hugging Face cache (read from there when offline); its local path."""
    parsed = _parse_hf(url)
    if parsed is None:
        return url
    from huggingface_hub import hf_hub_download

    repo, revision, path = parsed
    return hf_hub_download(repo, path, repo_type="dataset", revision=revision)


def load_hub_column(hub: HubDataset, record: DataRecord) -> list:
    """One column of a hub split. Offline (HF_HUB_OFFLINE=1) this reads the local cache."""
    import datasets

    from gpt2eval.data.hub import ensure_reachable_or_offline

    quiet_hub_retries()
    if any(str(f).startswith("hf://") for f in _split_files(hub)) or not (hub.data_files or Path(hub.path).exists()):
        ensure_reachable_or_offline()  # no network: the local cache at once, not ~25 s of retries per file
    label = hub_label(hub)
    try:
        data_files = {hub.split: [_fetch(f) for f in _split_files(hub)]} if hub.data_files else None
        ds = datasets.load_dataset(hub.path, hub.name, split=hub.split, data_files=data_files)
    except Exception as e:  # hub and datasets errors come in many types (ConnectionError, HTTP, not found)
        raise UsageError(
            f"cannot load {label} from the hub ({type(e).__name__}): "
            "pass --data-dir with the original files, or pre-fetch with `gpt2eval download`"
        ) from None
    if hub.column not in ds.column_names:
        raise UsageError(f"{label} has no column {hub.column!r} (has {ds.column_names}): wrong dataset?")
    rows = dict((record.hub or {}).get("rows", {}), **{hub.split: len(ds)})
    record.hub = {"path": label, "name": hub.name, "split": hub.split, "data_files": hub.data_files,
                  "fingerprint": ds._fingerprint, "rows": rows}
    # As a plain list through Arrow: iterating ds[column] row by row takes ~40 s for lm1b's 306,688.
    return ds.with_format("arrow")[hub.column].to_pylist()


def check_rebuilt(record: DataRecord, key: str, data: bytes, what: str, allow_mismatch: bool) -> None:
    """A file rebuilt from hub rows must be the original byte for byte, else no score.

    The rows may be another split, order or cleaning of the data than the published file
    (e.g. lm1b's test split holds all 50 heldout shards), and the denominators and
    documents would silently drift: refused unless ``--allow-data-mismatch``, which
    scores it anyway, marked as a mismatch wherever the number is shown.
    """
    digest, lines = hashlib.sha256(data).hexdigest(), data.count(b"\n")
    record.hub["sha256_rebuilt"] = digest
    record.hub["bytes_rebuilt"] = len(data)
    record.hub["checksum"] = verify(key, digest, what) if allow_mismatch else _status(key, digest)
    if record.hub["checksum"] == "mismatch" and not allow_mismatch:
        want = KNOWN_SHA256[key]
        raise UsageError(
            f"{what} is not the original {key} ({len(data):,} bytes, {lines:,} lines, sha256 "
            f"{digest[:12]}...; published {want[:12]}...): pass --data-dir with the original file, "
            "or --allow-data-mismatch to score it anyway (marked as other data)"
        )


def _status(key: Optional[str], digest: str) -> str:
    if key not in KNOWN_SHA256:
        return "unknown"
    return "ok" if digest == KNOWN_SHA256[key] else "mismatch"


def mismatched(data: Optional[dict]) -> list[str]:
    """What a result's ``data`` record read that differs from the published file."""
    data = data or {}
    out = [f"{Path(f['path']).name} sha256 {f['sha256'][:12]}..." for f in data.get("files", [])
           if f.get("checksum") == "mismatch"]
    hub = data.get("hub") or {}
    if hub.get("checksum") == "mismatch":
        out.append(f"{hub.get('path')} rebuilt, sha256 {str(hub.get('sha256_rebuilt'))[:12]}...")
    return out


def quiet_hub_retries() -> None:
    """Network retries are logged as warnings; a failed load ends in one error line of ours."""
    from huggingface_hub.utils import logging as hub_logging

    hub_logging.set_verbosity_error()
