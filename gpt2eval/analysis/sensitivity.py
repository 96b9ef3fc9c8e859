"""Sensitivity: what each unstated protocol choice is worth, one choice varied at a time.

From the preset's reading (the base run), every choice the task reads is set to each of
its other values while all the rest stay put, with one loaded model::

    choice            values tried                         tasks
    detokenizer       default, none, megatron              tasks with a detokenizer
    a task option     its declared variants (Option.tried) the tasks that declare it, where
                                                           the base run reads it (Option.applies)
    eos_prefix        on, off                              tasks that read it (Task.reads_eos_prefix)
    last_window       right, stride                        stream tasks
    stride            --strides (default L/2 and 32)       stream tasks

Each run is a normal result file plus ``"sweep": {"parameter": "sensitivity", ...}``, so
tables leave it out. The summary has one row per variant: choice, value, the task's
Table 3 metric(s), the difference from the base run and the distance to the paper's
number for the model's size; ``gpt2eval plot`` draws it as a tornado chart.
"""
from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from gpt2eval.engine.options import applies, resolved_values
from gpt2eval.errors import UsageError
from gpt2eval.report.sensitivity import label, markdown, summarize
from gpt2eval.results.files import model_slug

DETOKENIZERS = ("default", "none", "megatron")
WINDOW_CHOICES = ("eos_prefix", "stride", "last_window")
LAST_WINDOWS = ("right", "stride")


def default_strides(max_length: int) -> list[int]:
    """L/2 and Megatron's 32, as far as they are below L."""
    return sorted({s for s in (max_length // 2, 32) if 1 <= s < max_length}, reverse=True)


def choices_for(cls, base_window, base_data, strides: list[int]) -> list[tuple[str, object]]:
    """(option, value) of every variant: the task's choices at their non-base values.

    ``base_window`` and ``base_data`` are the base run's resolved configs (``resolve``).
    """
    out = []
    if cls.detokenizer:  # with nothing to undo, every value scores the same text
        out += [("detokenizer", v) for v in DETOKENIZERS if v != base_data.detokenizer and (v != "megatron" or cls.megatron)]
    values = resolved_values(cls.options, dict(base_data.options))
    for opt in cls.options:
        if opt.protocol and applies(opt, values):
            out += [(opt.name, v) for v in opt.tried if v != values[opt.name]]
    if cls.reads_eos_prefix(values):
        out += [("eos_prefix", v) for v in (True, False) if v != base_window.eos_prefix]
    if cls.scores_stream:
        out += [("last_window", v) for v in LAST_WINDOWS if v != base_window.last_window]
        out += [("stride", s) for s in strides if s != base_window.stride]
    return out


def apply_variant(option: str, value, window_cfg, data_cfg):
    """(window, data): the configs with one variant of ``choices_for`` set in them."""
    if option in WINDOW_CHOICES:
        return replace(window_cfg, **{option: value}), data_cfg
    if option == "detokenizer":
        return window_cfg, replace(data_cfg, detokenizer=value)
    return window_cfg, data_cfg.with_options({option: value})


def run_sensitivity(task_name: str, model_cfg, window_cfg, data_cfg, strides: list[int] | None = None,
                    output: str | None = None, paper_model: str | None = None, quiet: bool = False, echo=print,
                    run_cfg=None, force: bool = False) -> dict | None:
    """The base run and every variant as jobs of one pipeline; then the summary and the tornado chart.

    The model's config is read (no weights) before the variants are listed, since the
    default strides depend on its context length. Returns the summary (None on the other
    ranks of a torchrun launch).
    """
    from gpt2eval.analysis.sweep import check_strides
    from gpt2eval.pipeline.execute import execute, unwritable_hint
    from gpt2eval.pipeline.plan import build_tasks, job, plan_jobs, preflight, window_length
    from gpt2eval.registry import get_task_class
    from gpt2eval.results.paths import check_output_dir

    cls = get_task_class(task_name)
    out_dir = Path(output) if output else Path("results") / model_slug(model_cfg.model) / "sensitivity"
    base = job(cls.name, window_cfg, data_cfg, out_dir / f"{cls.name}-base.json")
    preset = base.data.preset
    base.label, base.sweep = f"{cls.name} {preset} preset", {"parameter": "sensitivity", "choice": None, "value": None,
                                                             "preset": preset}
    build_tasks([base])  # an option the task does not read: refused first
    check_output_dir(out_dir)
    config = preflight(model_cfg, base.window)  # a model that is not causal, a window too long: before the weights
    length = window_length(base.window, config)
    if strides is not None:
        check_strides(strides, length, "the window length")
    strides = default_strides(length) if strides is None else strides
    jobs = [base]
    for option, value in choices_for(cls, replace(base.window, stride=base.window.stride or length), base.data, strides):
        window, data = apply_variant(option, value, window_cfg, data_cfg)
        name = f"{option}-{value}".replace("_", "-").lower()
        jobs.append(job(cls.name, window, data, out_dir / f"{cls.name}-{name}.json", label=f"{cls.name} {label(option, value)}",
                        sweep={"parameter": "sensitivity", "choice": option, "value": value, "preset": preset}))
    plan = plan_jobs(jobs, model_cfg, run_cfg, force=force, config=config)
    results = execute(plan, quiet=quiet)
    if not plan.dist.is_main:
        return None
    with unwritable_hint(out_dir, plan):
        return write_summary(cls.name, [results[j.path] for j in jobs], paper_model, out_dir, echo)


def write_summary(task: str, runs: list[dict], paper_model: str | None, out_dir: Path, echo=print) -> dict:
    """``<task>-sensitivity.json`` and ``.md`` (one row per variant), and ``<task>-tornado.png``."""
    from gpt2eval.report.figures import save
    from gpt2eval.report.tornado import tornado_figure
    from gpt2eval.results.atomic import write_text

    summary = summarize(runs, paper_model)
    summary_path = out_dir / f"{task}-sensitivity.json"
    write_text(summary_path, json.dumps(summary, indent=1) + "\n")
    write_text(out_dir / f"{task}-sensitivity.md", markdown(summary))
    figure = save(tornado_figure(summary), out_dir / f"{task}-tornado.png")[0]
    echo(markdown(summary))
    echo(f"summary -> {summary_path}; figure -> {figure}")
    return summary


def parse_strides_option(text: str | None) -> list[int] | None:
    from gpt2eval.analysis.sweep import parse_strides

    if text is None:
        return None
    if not text.strip():
        raise UsageError("--strides is empty: give e.g. 512,256,32")
    return parse_strides(text)
