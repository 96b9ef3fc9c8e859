"""A result from one scored task: metrics, intervals, configs as run, model, data, versions, timing.

Everything needed to trust and trace a number goes in; ``gpt2eval.results`` writes it.
"""
from __future__ import annotations

import datetime as _dt
import platform
import subprocess
from dataclasses import asdict
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from gpt2eval import __version__
from gpt2eval.results.bootstrap import uncertainty
from gpt2eval.results.files import per_document, totals_of


def versions() -> dict:
    import torch  # its own version string names the build (+cpu, +cu124), the metadata's may not

    def installed(name: str) -> str | None:
        try:
            return version(name)
        except PackageNotFoundError:
            return None

    return {
        "gpt2eval": __version__,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": installed("transformers"),
        "datasets": installed("datasets"),
    }


def git_commit() -> dict | None:
    """The commit of the gpt2eval checkout that ran, if it runs from one."""
    here = Path(__file__).resolve().parent
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5)
        if commit.returncode != 0:
            return None
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=here, capture_output=True, text=True, timeout=5)
        return {"commit": commit.stdout.strip(), "dirty": bool(dirty.stdout.strip())}
    except (OSError, subprocess.SubprocessError):
        return None


def config_dict(model_cfg, window_cfg, data_cfg, lm, task) -> dict:
    """Every option as given (task options by name in ``data``), plus the window and task
    protocol as actually run."""
    return {
        "model": asdict(model_cfg),
        "window": {**asdict(window_cfg), **lm.resolved},
        "data": data_cfg.record(),
        "protocol": task.protocol,
        "engine": lm.engine,
    }


def build_result(task, docs, sums, lm, model_cfg, window_cfg, data_cfg, seconds: float) -> dict:
    totals = totals_of(sums)
    n_tokens = totals.get("n_tokens", 0)
    loaded = lm.loaded
    documents = per_document(docs, sums)
    return {
        "task": task.name,
        "metrics": task.metrics(totals),
        **uncertainty(task.metrics, documents),  # "ci95": {metric: [lo, hi]}, "bootstrap": how
        "headline": task.metric,
        "totals": totals,
        "n_documents": len(docs),
        "config": config_dict(model_cfg, window_cfg, data_cfg, lm, task),
        "model": {
            "name": model_cfg.model,
            "revision": model_cfg.revision,
            "commit": getattr(loaded.model.config, "_commit_hash", None),
            "weights_sha256": loaded.weights_sha256,  # a local model's files (fingerprint.py)
            "n_parameters": loaded.n_parameters,
            "dtype": str(loaded.dtype).removeprefix("torch."),
            "device": str(loaded.device),
            "context_length": loaded.context_length,
            # The token before each stream (--eos-prefix) and empty context: models.tokenizer.start_token.
            "start_token": loaded.start_token,
        },
        "data": task.record.as_dict(),
        "versions": versions(),
        "git": git_commit(),
        "timing": timing(lm, seconds, n_tokens),
        "created_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "per_document": documents,
    }


def timing(lm, seconds: float, n_tokens: int) -> dict:
    """Seconds and tokens/s; on a GPU also model FLOP utilisation and peak memory."""
    out = {"seconds": seconds, "tokens_per_second": n_tokens / seconds if seconds > 0 else None}
    forward_tokens = getattr(lm, "forward_tokens", None)
    out["forward_tokens"] = forward_tokens
    device = lm.loaded.device
    if device.type == "cuda" and forward_tokens:
        import torch

        from gpt2eval.models.flops import mfu, peak_flops

        dtype = str(lm.loaded.dtype).removeprefix("torch.")
        out["mfu"] = mfu(lm.loaded.n_parameters, forward_tokens, seconds, peak_flops(torch.cuda.get_device_name(device), dtype))
        out["peak_memory_bytes"] = torch.cuda.max_memory_allocated(device)
    return out
