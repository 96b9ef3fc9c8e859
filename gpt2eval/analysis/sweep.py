"""Stride sweep: one stream task scored at several strides with one loaded model.

With window L and stride S, each window after the first scores only its last S tokens,
so every scored token sees at least L - S tokens of context, at about L/S times the
forward passes of disjoint windows (S = L)::

    S = L:    [---- window 1 ----][---- window 2 ----]      all tokens scored, context 0..L-1
    S = L/2:  [---- window 1 ----]
                        [ctx L/2 | scored ]                 later tokens: context >= L/2

The paper does not say which stride it used, so the sweep shows how much the number
depends on it. Each stride's result is a normal result file plus
``"sweep": {"parameter": "stride", "values": [...]}``, so tables can leave it out and
``gpt2eval plot`` draws it against the stride.
"""
from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from gpt2eval.errors import UsageError
from gpt2eval.results.files import model_slug, write_json


def parse_strides(text: str) -> list[int]:
    """``"1024,512,256"`` -> ``[1024, 512, 256]`` (distinct, largest first), each >= 1."""
    try:
        strides = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise UsageError(f"--strides {text!r}: expected comma-separated integers, e.g. 1024,512,256") from None
    if not strides:
        raise UsageError("--strides is empty: give e.g. 1024,512,256")
    for s in strides:
        if s < 1:
            raise UsageError(f"--strides: stride {s} must be >= 1")
    return sorted(set(strides), reverse=True)


def check_strides(strides: list[int], max_length: int, what: str) -> None:
    too_long = [s for s in strides if s > max_length]
    if too_long:
        raise UsageError(f"--strides: {', '.join(map(str, too_long))} > the window length {max_length} ({what}): "
                         "use strides <= the window length")


def model_context(model_cfg) -> int | None:
    """The model's context length from its config alone (no weights); None if unreadable,
    in which case ``load_model`` reports the problem."""
    from transformers import AutoConfig

    from gpt2eval.models.loading import context_length

    try:
        config = AutoConfig.from_pretrained(model_cfg.model, revision=model_cfg.revision,
                                            trust_remote_code=model_cfg.trust_remote_code)
    except (OSError, ValueError):
        return None
    return context_length(config)


def sweep_stride(task_name: str, strides: list[int], model_cfg, window_cfg, data_cfg,
                 output: str | None = None, quiet: bool = False, echo=print) -> dict:
    """Score ``task_name`` once per stride; write results, a summary and the figure.

    Everything checkable is checked before the model scores anything: the strides
    against the window length, the task and its data.
    """
    from gpt2eval.pipeline.evaluate import evaluate_task, prepare
    from gpt2eval.engine.lm import LM
    from gpt2eval.models.loading import load_model
    from gpt2eval.report.figures import save, stride_figure
    from gpt2eval.engine.progress import Progress
    from gpt2eval.registry import get_task_class
    from gpt2eval.engine.stream import StreamTask

    if not issubclass(get_task_class(task_name), StreamTask):
        raise UsageError(f"task {task_name} does not score a stream, so the stride changes nothing: "
                         "sweep a stream task (wikitext2, wikitext103, ptb, 1bw, enwik8, text8)")
    if window_cfg.max_length is not None:
        check_strides(strides, window_cfg.max_length, "--max-length")
    else:
        context = model_context(model_cfg)
        if context is not None:
            check_strides(strides, context, f"the context length of {model_cfg.model}")
    out_dir = Path(output) if output else Path("results") / model_slug(model_cfg.model) / "sweep-stride"
    task, docs = prepare(task_name, data_cfg, window_cfg)
    loaded = load_model(model_cfg)
    lms = [LM(loaded, replace(task.window, stride=s), progress=Progress(enabled=not quiet)) for s in strides]
    rows, results = [], []
    base_window = task.window
    for stride, lm in zip(strides, lms):
        task.window = replace(base_window, stride=stride)
        result = evaluate_task(task, docs, lm, model_cfg)
        result["sweep"] = {"parameter": "stride", "values": strides}
        path = out_dir / f"{task.name}-stride{stride}.json"
        write_json(result, path)
        results.append(result)
        value = result["metrics"][result["headline"]]
        rows.append({"stride": stride, result["headline"]: value, "seconds": result["timing"]["seconds"],
                     "n_tokens": result["totals"].get("n_tokens"), "file": path.name})
        echo(f"{task.name} stride {stride}: {result['headline']}={value:.4f} ({result['timing']['seconds']:.1f} s) -> {path}")
    summary = {"task": task.name, "model": model_cfg.model, "metric": results[0]["headline"],
               "max_length": lms[0].max_length, "rows": rows}
    summary_path = out_dir / f"{task.name}-stride-summary.json"
    summary_path.write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")
    figures = save(stride_figure(results), out_dir / f"{task.name}-stride.png")
    echo(f"summary -> {summary_path}; figure -> {figures[0]}")
    return summary
