"""One task run: documents -> scores -> result dict."""
from __future__ import annotations

import time
from pathlib import Path

from .config import DataConfig, WindowConfig
from .errors import UsageError
from .registry import get_task_class
from .results import build_result, model_slug


def prepare(name: str, data_cfg: DataConfig, window_cfg: WindowConfig | None = None):
    """The task and its documents: every data problem surfaces before any model loads.

    The preset fills the options not given (``gpt2eval.presets``); the task keeps the
    resolved configs as ``task.data`` and ``task.window``, which its LM and result use.
    """
    from .presets import resolve

    cls = get_task_class(name)
    window_cfg, data_cfg = resolve(cls, window_cfg or WindowConfig(eos_prefix=None), data_cfg)
    task = cls(data_cfg)
    task.window = window_cfg
    docs = task.documents()
    if not docs:
        raise UsageError(f"task {name}: no documents to score (empty data or --limit)")
    return task, docs


def evaluate_task(task, docs, lm, model_cfg, window_cfg=None, data_cfg=None) -> dict:
    """Score ``docs``; the result records the task's resolved configs (see ``prepare``)."""
    window_cfg, data_cfg = getattr(task, "window", None) or window_cfg, task.data
    start = time.perf_counter()
    sums = task.evaluate(docs, lm)
    seconds = time.perf_counter() - start
    return build_result(task, docs, sums, lm, model_cfg, window_cfg, data_cfg, seconds)


def output_path(output: str | None, model: str, task: str, n_tasks: int) -> Path:
    """``--output`` as a file (one task) or a folder; default ``results/<model>/<task>.json``."""
    if output is None:
        return Path("results") / model_slug(model) / f"{task}.json"
    out = Path(output)
    if out.suffix == ".json":
        if n_tasks > 1:
            raise UsageError(f"--output {output} is one file but {n_tasks} tasks were given: pass a folder")
        return out
    return out / f"{task}.json"


def summary(result: dict) -> str:
    head = result["headline"]
    value = result["metrics"][head]
    counts = {k: v for k, v in result["totals"].items() if k in ("n_units", "n_words", "n_questions", "n_tokens")}
    return f"{head}={value:.4f} " + " ".join(f"{k}={v:,}" for k, v in counts.items())
