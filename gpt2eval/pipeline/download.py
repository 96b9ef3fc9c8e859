"""Pre-fetch what a run needs, so that it can run with no network (HF_HUB_OFFLINE=1), and
prove on the way that every file rebuilt from the hub is the original.

- Models: the hub snapshot (config, tokenizer, safetensors weights; not the TF, Flax or
  ONNX copies) into the Hugging Face cache, where ``from_pretrained`` finds it offline.
- Data: each task's parquet files into the Hugging Face cache (``gpt2eval.data.files._fetch``:
  a run reads them from there offline), and the original file rebuilt from the rows and
  checked against the published sha256, exactly as a run without ``--data-dir`` does.
  With ``--data-dir DIR`` the rebuilt file is also written as DIR/<task.file> (the layout
  of shared/data) and read back through the task as a run with ``--data-dir DIR`` would.

Every model and task gets one row of a table, as soon as it is done, whatever happened
to the others::

    what          source                                   rows  sha256           bytes    time
    ptb           ptb-text-only/ptb_text_only@refs/...     3,761 ok             449,945    1.2s

``exact`` is False for a row that failed (unreachable, not found) or whose rebuild does
not match; CBT, whose files have no published checksum, is "unknown" and counts as done
(its question count is checked instead).
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

from gpt2eval.config import DataConfig
from gpt2eval.data.files import hub_label
from gpt2eval.errors import UsageError
from gpt2eval.registry import get_task_class
from gpt2eval.engine.task import Task

WEIGHTS = ("*.safetensors", "*.safetensors.index.json")
FILES = ("*.json", "*.txt", "*.model", "*.tiktoken", "*.py")  # configs, tokenizers, remote code
COLUMNS = (("what", 11), ("source", 48), ("rows", 7), ("sha256", 11), ("bytes", 13), ("time", 6))
RIGHT = ("rows", "bytes", "time")


@dataclass
class Fetched:
    """One row of the download table."""

    what: str
    source: str
    rows: int | None = None
    sha256: str = "-"  # ok | mismatch | unknown | - (models) | unreachable / failed
    n_bytes: int | None = None
    seconds: float = 0.0
    note: str = ""

    @property
    def exact(self) -> bool:
        return self.sha256 in ("ok", "unknown", "-")

    def line(self, width: int = 0) -> str:
        """The row, columns two spaces apart; ``width``: of the first column (the longest name)."""
        cells = [self.what, self.source, "-" if self.rows is None else f"{self.rows:,}", self.sha256,
                 "-" if self.n_bytes is None else f"{self.n_bytes:,}", f"{self.seconds:.1f}s"]
        return f"{_cells(cells, width)}  {self.note}".rstrip()


def header(width: int = 0) -> str:
    return _cells([name for name, _ in COLUMNS], width)


def _cells(cells: list[str], width: int) -> str:
    widths = [max(width, COLUMNS[0][1]), *(w for _, w in COLUMNS[1:])]
    return "  ".join(c.rjust(w) if name in RIGHT else c.ljust(w) for c, w, (name, _) in zip(cells, widths, COLUMNS))


def check_online() -> None:
    for var in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE"):
        if os.environ.get(var, "").strip().lower() in ("1", "true", "yes", "on"):
            raise UsageError(f"{var} is set, so nothing can be downloaded: unset it for `gpt2eval download`")


def download_model(model: str, revision: str | None = None) -> str:
    """The model's hub snapshot in the HF cache; its local folder (a local model: itself)."""
    if Path(model).is_dir():
        return model
    from huggingface_hub import snapshot_download

    try:
        folder = snapshot_download(model, revision=revision, allow_patterns=[*FILES, *WEIGHTS])
        if not any(Path(folder).glob("*.safetensors")):  # older repos ship only PyTorch pickles
            folder = snapshot_download(model, revision=revision, allow_patterns=[*FILES, "pytorch_model*.bin*"])
    except Exception as e:  # hub errors come in many types (HTTP, connection, not found)
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise UsageError(f"cannot download model {model!r} ({type(e).__name__}: {first[:160]}): "
                         "check the name, the network and HF_TOKEN for gated repos") from None
    return folder


def fetch_model(model: str, revision: str | None = None) -> Fetched:
    start = time.perf_counter()
    source = "local directory" if Path(model).is_dir() else f"hub {model}" + (f"@{revision}" if revision else "")
    row = Fetched(f"model {model}", source)
    try:
        folder = Path(download_model(model, revision))
        row.n_bytes = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())  # follows cache symlinks
        row.note = str(folder)
    except UsageError as e:
        row.sha256, row.note = "unreachable" if unreachable(str(e)) else "failed", str(e)
    row.seconds = time.perf_counter() - start
    return row


def unreachable(message: str) -> bool:
    """No answer from the hub at all (no network, a firewall), as opposed to "not found"."""
    return any(f"({kind}" in message for kind in ("LocalEntryNotFoundError", "ConnectionError", "ConnectError"))


def not_tried(name: str, after: Fetched) -> Fetched:
    """The row of a task not tried because the hub did not answer for an earlier one."""
    return Fetched(name, hub_label(get_task_class(name).hub), sha256="unreachable",
                   note=f"not tried: the hub did not answer for {after.what}")


def check_task(name: str) -> None:
    """Fails on a task with nothing to fetch (or an unknown name) before anything is fetched."""
    if get_task_class(name).hub is None:
        raise UsageError(f"task {name} reads only your own files: nothing to download")


def fetch_task(name: str, data_dir: str | None = None) -> Fetched:
    """One task's data into the cache (and under ``data_dir``), rebuilt and checked."""
    start = time.perf_counter()
    cls = get_task_class(name)
    row = Fetched(name, hub_label(cls.hub))
    # A mismatch is reported in the table, not raised: the rebuild is what we came to check.
    task = cls(DataConfig(allow_data_mismatch=True))
    try:
        data = original_file(task)
        hub = task.record.hub or {}
        row.rows = sum(hub.get("rows", {}).values()) or None
        row.n_bytes, row.sha256 = len(data), hub.get("checksum", "unknown")
        if row.sha256 == "mismatch":
            row.note = f"rebuilt sha256 {hub.get('sha256_rebuilt', '')[:12]}... is not the published {task.file}"
        if data_dir is not None and row.sha256 != "mismatch":  # never a wrong file under the original's name
            path = Path(data_dir) / task.file
            write_atomic(path, data)
            back = cls(DataConfig(data_dir=data_dir, allow_data_mismatch=True))
            row.note = row.note or f"-> {path} ({len(back.documents()):,} documents)"
    except UsageError as e:
        message = str(e).replace("pass --data-dir with the original files, or pre-fetch with `gpt2eval download`",
                                 "check the network, and that the hub still has this dataset")
        row.sha256, row.note = "unreachable" if unreachable(message) else "failed", message
    row.seconds = time.perf_counter() - start
    return row


def original_file(task: Task) -> bytes:
    """The task's original file rebuilt from its hub rows (checksum-verified where known)."""
    if type(task).text_from_rows is not Task.text_from_rows:
        return task.original_text().encode("utf-8")
    whole = getattr(task, "_whole_from_hub", None)  # enwik8/text8: the whole 100M file
    if whole is not None:
        return whole()
    docs = task.documents()  # e.g. CBT: questions rebuilt in the file's format
    assert all(d.original for d in docs), f"task {task.name} keeps no original text to write"
    return "".join(d.original for d in docs).encode("utf-8")


def write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
