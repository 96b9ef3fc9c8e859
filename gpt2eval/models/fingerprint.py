"""What identifies a model's numbers: the hub commit, or the sha256 of a local model's files.

A hub model is named by its id and the commit its revision resolved to. A local directory
has no commit (and ``--revision`` means nothing for it: refused), so its weight and config
files are hashed; the digest is recorded in every result's ``model`` section and keys the
work-unit cache, so two different checkpoints saved at one path are never confused.
"""
from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

from gpt2eval.errors import UsageError

# What determines the numbers a local directory gives: the weights and the architecture.
WEIGHT_PATTERNS = ("*.safetensors", "*.bin", "*.pt", "*.pth", "*.ckpt", "*.gguf", "*.msgpack", "*.h5")
CONFIG_FILES = ("config.json", "generation_config.json")


def check_revision(model: str, revision: str | None) -> None:
    """``--revision`` selects a hub commit: with a local directory it would silently do nothing."""
    if revision is not None and Path(model).is_dir():
        raise UsageError(
            f"--revision {revision} applies to hub models, but {model} is a local directory: drop --revision "
            "(the sha256 of its weight files is recorded in the result instead)"
        )


def weights_sha256(model: str) -> str | None:
    """sha256 over the names and contents of a local model's weight and config files; None for a hub id.

    Hashed once per process for the same files (names, sizes, mtimes): the overwrite check
    before loading and the result after both need it, and gpt2-xl's weights are 6 GB.
    """
    root = Path(model)
    if not root.is_dir():
        return None
    files = sorted({p for pattern in WEIGHT_PATTERNS for p in root.glob(pattern)} | {root / n for n in CONFIG_FILES if (root / n).is_file()})
    return _digest(tuple((str(p.absolute()), p.stat().st_size, p.stat().st_mtime_ns) for p in files))


@lru_cache(maxsize=16)
def _digest(stats: tuple) -> str:
    files = [Path(name) for name, _, _ in stats]
    digest = hashlib.sha256()
    for path in files:
        digest.update(f"{path.name}\0{path.stat().st_size}\0".encode())
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(2**24), b""):
                digest.update(block)
    return digest.hexdigest()


def model_fingerprint(model_cfg, loaded) -> dict:
    """Everything about the model and its numerics that a cached unit's numbers depend on."""
    import torch
    import transformers

    from gpt2eval import __version__

    weights = loaded.weights_sha256

    return {
        # A local model is its files, wherever they lie: the path stays out of the key.
        "model": model_cfg.model if weights is None else None,
        "revision": model_cfg.revision,
        "commit": getattr(loaded.model.config, "_commit_hash", None),
        "weights_sha256": weights,
        "dtype": str(loaded.dtype).removeprefix("torch."),
        "device_type": loaded.device.type,
        # On a CPU the thread count changes how sums are split, and so the last bits of a score.
        "cpu_threads": torch.get_num_threads() if loaded.device.type == "cpu" else None,
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__, "gpt2eval": __version__},
    }
