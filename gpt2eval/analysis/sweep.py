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
from gpt2eval.results.files import model_slug


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


def sweep_stride(task_name: str, strides: list[int], model_cfg, window_cfg, data_cfg, run_cfg=None,
                 output: str | None = None, force: bool = False, quiet: bool = False, echo=print) -> dict | None:
    """Score ``task_name`` once per stride through the pipeline; write the summary and figure.

    One job per stride (``<task>-stride<S>.json``); the strides are checked against the
    window length, and the pipeline checks everything else, before any weights load.
    Returns the summary (None on the other ranks of a torchrun launch).
    """
    from gpt2eval.engine.stream import StreamTask
    from gpt2eval.pipeline.execute import execute, unwritable_hint
    from gpt2eval.pipeline.plan import build_tasks, job, plan_jobs, preflight, window_length
    from gpt2eval.registry import get_task_class
    from gpt2eval.results.paths import check_output_dir

    cls = get_task_class(task_name)
    if not issubclass(cls, StreamTask):
        raise UsageError(f"task {task_name} does not score a stream, so the stride changes nothing: "
                         "sweep a stream task (wikitext2, wikitext103, ptb, 1bw, enwik8, text8)")
    if window_cfg.max_length is not None:
        check_strides(strides, window_cfg.max_length, "--max-length")
    out_dir = check_output_dir(Path(output) if output else Path("results") / model_slug(model_cfg.model) / "sweep-stride")
    tag = {"parameter": "stride", "values": strides}
    jobs = [job(cls.name, replace(window_cfg, stride=s), data_cfg, out_dir / f"{cls.name}-stride{s}.json", sweep=tag,
                label=f"{cls.name} stride {s}") for s in strides]
    build_tasks(jobs)  # an option the task does not read: refused before the model's config is read
    config = preflight(model_cfg)
    if window_cfg.max_length is None:
        check_strides(strides, window_length(window_cfg, config), f"the context length of {model_cfg.model}")
    plan = plan_jobs(jobs, model_cfg, run_cfg, force=force, config=config)
    results = execute(plan, quiet=quiet)
    if not plan.dist.is_main:
        return None
    with unwritable_hint(out_dir, plan):
        return write_summary([results[j.path] for j in jobs], model_cfg, out_dir, echo)


def write_summary(results: list[dict], model_cfg, out_dir: Path, echo=print) -> dict:
    """``<task>-stride-summary.json`` (one row per stride) and the figure ``<task>-stride.png``."""
    from gpt2eval.report.figures import save, stride_figure
    from gpt2eval.results.atomic import write_text

    task, metric = results[0]["task"], results[0]["headline"]
    rows = [{"stride": r["config"]["window"]["stride"], metric: r["metrics"][metric], "seconds": r["timing"]["seconds"],
             "n_tokens": r["totals"].get("n_tokens"), "file": f"{task}-stride{r['config']['window']['stride']}.json"}
            for r in results]
    summary = {"task": task, "model": model_cfg.model, "metric": metric,
               "max_length": results[0]["config"]["window"]["max_length"], "rows": rows}
    summary_path = out_dir / f"{task}-stride-summary.json"
    write_text(summary_path, json.dumps(summary, indent=1) + "\n")
    figures = save(stride_figure(results), out_dir / f"{task}-stride.png")
    echo(f"summary -> {summary_path}; figure -> {figures[0]}")
    return summary
