"""One task run: documents -> scores -> result dict."""
from __future__ import annotations

import time
from pathlib import Path

from gpt2eval.config import DataConfig, WindowConfig
from gpt2eval.errors import UsageError
from gpt2eval.pipeline.build import build_result
from gpt2eval.results.files import model_slug


def prepare(name: str, data_cfg: DataConfig, window_cfg: WindowConfig | None = None):
    """The task and its documents for configs as given, outside a pipeline (a job does this
    in ``plan``): the preset fills the rest, and the task keeps the resolved configs as
    ``task.data`` and ``task.window``, which its LM and result use."""
    from gpt2eval.pipeline.plan import load_documents
    from gpt2eval.pipeline.presets import resolve
    from gpt2eval.registry import get_task_class

    cls = get_task_class(name)
    window_cfg, data_cfg = resolve(cls, window_cfg or WindowConfig(eos_prefix=None, last_window=None), data_cfg)
    task = cls(data_cfg)
    task.window = window_cfg
    return task, load_documents(task)


def evaluate_task(task, docs, lm, model_cfg, window_cfg=None, data_cfg=None) -> dict:
    """Score ``docs``; the result records the task's resolved configs (see ``prepare``)."""
    window_cfg, data_cfg = getattr(task, "window", None) or window_cfg, task.data
    start = time.perf_counter()
    sums = task.evaluate(docs, lm)
    seconds = time.perf_counter() - start
    check_scored(task.name, sums)
    return build_result(task, docs, sums, lm, model_cfg, window_cfg, data_cfg, seconds)


def check_scored(name: str, sums: list[dict]) -> None:
    """A metric over zero scored tokens (perplexity 1.0, or nan) is an error, not a result."""
    for key in ("n_tokens", "n_units"):
        if sums and key in sums[0] and not sum(s[key] for s in sums):
            raise UsageError(f"task {name}: nothing was scored ({key} = 0; e.g. one token under --no-eos-prefix): "
                             "give more text, or drop --no-eos-prefix")


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
    """One line per task; data that is not the published file is said on the same line."""
    from gpt2eval.data.files import mismatched

    head = result["headline"]
    value = result["metrics"][head]
    counts = {k: v for k, v in result["totals"].items() if k in ("n_units", "n_words", "n_questions", "n_tokens")}
    line = f"{head}={value:.4f} " + " ".join(f"{k}={v:,}" for k, v in counts.items())
    other = mismatched(result.get("data"))
    return line + (f" † DATA MISMATCH: not the published file ({'; '.join(other)})" if other else "")


def limit_note(task, result: dict) -> str | None:
    """What ``--limit`` kept, in documents and in tokens: "10 documents" says little alone."""
    limit = result["config"]["data"].get("limit")
    if limit is None:
        return None
    available = getattr(task, "n_available", None)
    of = f" of {available:,}" if available is not None else ""
    n_tokens = result["totals"].get("n_tokens")
    tokens = f", {n_tokens:,} tokens scored" if n_tokens is not None else ""
    return f"{task.name}: --limit {limit} kept {result['n_documents']:,}{of} documents ({task.document_name}s){tokens}"
