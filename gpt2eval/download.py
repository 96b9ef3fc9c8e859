"""Pre-fetch what a run needs, so that it can run with no network (HF_HUB_OFFLINE=1).

- Models: the hub snapshot (config, tokenizer, safetensors weights; not the TF, Flax or
  ONNX copies) into the Hugging Face cache, where ``from_pretrained`` finds it offline.
- Data, default: each task loads its documents exactly as a run without ``--data-dir``
  does, which leaves every hub split it reads in the ``datasets`` cache and checks the
  rebuilt text against the published sha256 on the way.
- Data, ``--data-dir DIR``: the original files written as DIR/<task.file>, the layout of
  shared/data, rebuilt from the hub rows, then read back through the task as a run with
  ``--data-dir DIR`` would.
"""
from __future__ import annotations

import os
from pathlib import Path

from .config import DataConfig
from .errors import UsageError
from .registry import get_task_class
from .task import Task

WEIGHTS = ("*.safetensors", "*.safetensors.index.json")
FILES = ("*.json", "*.txt", "*.model", "*.tiktoken", "*.py")  # configs, tokenizers, remote code


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


def check_task(name: str) -> None:
    """Fails on a task with nothing to fetch (or an unknown name) before anything is fetched."""
    if get_task_class(name).hub is None:
        raise UsageError(f"task {name} reads only your own files: nothing to download")


def fetch_task(name: str, data_dir: str | None = None) -> str:
    """One task's data, into the ``datasets`` cache or written under ``data_dir``."""
    task = get_task_class(name)(DataConfig())
    try:
        if data_dir is None:
            docs = task.documents()
            return f"{len(docs):,} documents in the datasets cache ({task.hub.path})"
        path = Path(data_dir) / task.file
        write_atomic(path, original_file(task))
        back = get_task_class(name)(DataConfig(data_dir=data_dir))
        docs = back.documents()
    except UsageError as e:
        # A loader's advice to "pre-fetch with `gpt2eval download`" is no help here.
        message = str(e).replace("pass --data-dir with the original files, or pre-fetch with `gpt2eval download`",
                                 "check the network, and that the hub still has this dataset")
        raise UsageError(f"download {name}: {message}") from None
    checks = sorted({f["checksum"] for f in back.record.files})
    return f"{path} ({path.stat().st_size:,} bytes, {len(docs):,} documents, checksum {'/'.join(checks)})"


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
