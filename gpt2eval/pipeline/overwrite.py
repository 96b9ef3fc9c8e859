"""Existing results are kept: a result of another config is replaced only with --force.

A quick ``--limit`` look must never wipe a day's full run, so every command that writes a
result checks the file already there before the model loads.
"""
from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

from gpt2eval.errors import UsageError


def check_replace(path: Path, model_cfg, window_cfg, data_cfg, force: bool) -> None:
    """Refuse to write ``path`` over a result of another config unless ``force``."""
    if force or not Path(path).exists():
        return
    diffs = config_differences(Path(path), model_cfg, window_cfg, data_cfg)
    if diffs:
        more = f" and {len(diffs) - 2} more" if len(diffs) > 2 else ""
        raise UsageError(f"{path} holds a result of another config ({'; '.join(diffs[:2])}{more}): kept it; "
                         "pass --force to replace it, or write elsewhere with --output")


def config_differences(path: Path, model_cfg, window_cfg, data_cfg) -> list[str]:
    """How the result at ``path`` differs from this config in what changes the numbers."""
    from gpt2eval.engine.options import current_names, task_options
    from gpt2eval.models.loading import resolve_device, resolve_dtype

    try:
        result = json.loads(path.read_text(encoding="utf-8"))
        stored, loaded = result["config"], result["model"]
        length = window_cfg.max_length or loaded["context_length"]
        if not all(isinstance(stored.get(k, {}), dict) for k in ("model", "data", "window")) or not isinstance(loaded, dict):
            raise TypeError("not a result")
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return ["it is not a readable result file"]
    want = {
        **{f"model.{k}": v for k, v in asdict(model_cfg).items() if k != "device"},
        "model dtype as run": str(resolve_dtype(model_cfg.dtype, resolve_device(model_cfg.device))).removeprefix("torch."),
        **{f"data.{k}": v for k, v in data_cfg.record().items() if k != "data_dir"},
        "window.max_length": length,
        "window.stride": window_cfg.stride or length,
        "window.eos_prefix": window_cfg.eos_prefix,
    }
    # Task options stored under an old name read as their current one; one given only in
    # the stored result counts too (it is absent from this config's record).
    stored_data = current_names(task_options(str(result.get("task"))), stored.get("data", {}))
    have = {
        **{f"model.{k}": v for k, v in stored.get("model", {}).items()},
        "model dtype as run": loaded.get("dtype"),
        **{f"data.{k}": v for k, v in stored_data.items()},
        **{f"window.{k}": v for k, v in stored.get("window", {}).items()},
    }
    keys = [*want, *(k for k in have if k.startswith("data.") and k != "data.data_dir" and k not in want)]
    return [f"{k} {have.get(k)!r} != {want.get(k)!r}" for k in keys if have.get(k) != want.get(k)]
