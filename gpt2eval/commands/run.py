"""`gpt2eval run`, `detok-check` and `tasks`: scoring a model, checking detokenizers, listing tasks."""
from __future__ import annotations

import json
from pathlib import Path

import click

from ..config import DataConfig, ModelConfig, WindowConfig
from ..options import build, data_options, model_options, window_options


@click.command()
@click.option("--task", "task_names", multiple=True, required=True, help="Task name; repeat for several.")
@model_options
@window_options
@data_options
@click.option("--output", type=click.Path(), default=None, help="Result file (one task) or folder [default: results/<model>/].")
@click.option("--log-samples", is_flag=True, help="Also write per-example records as <result>.samples.jsonl.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def run(task_names, output, log_samples, quiet, **opts):
    """Score a model on tasks; write one result JSON per task.

    Data and options are checked for every task before the model loads, and each result
    is written as soon as its task finishes.
    """
    from ..evaluate import evaluate_task, output_path, prepare, summary
    from ..lm import LM
    from ..models import load_model
    from ..progress import Progress
    from ..results import write_json

    model_cfg, window_cfg, data_cfg = build(ModelConfig, opts), build(WindowConfig, opts), build(DataConfig, opts)
    paths = {name: output_path(output, model_cfg.model, name, len(task_names)) for name in task_names}
    prepared = [prepare(name, data_cfg, window_cfg) for name in task_names]
    loaded, progress = load_model(model_cfg), Progress(enabled=not quiet)
    for task, docs in prepared:
        lm = LM(loaded, task.window, progress=progress)  # the preset may set a task's stride or prefix
        result = evaluate_task(task, docs, lm, model_cfg)
        write_json(result, paths[task.name])
        click.echo(f"{task.name}: {summary(result)} -> {paths[task.name]}")
        if log_samples:
            write_samples(task, paths[task.name])


def write_samples(task, result_path: Path) -> None:
    samples = task.samples() if hasattr(task, "samples") else None
    if samples is None:
        click.echo(f"{task.name}: no per-example records for this task (--log-samples)", err=True)
        return
    path = result_path.with_suffix(".samples.jsonl")
    path.write_text("".join(json.dumps(s, ensure_ascii=False) + "\n" for s in samples), encoding="utf-8")
    click.echo(f"{task.name}: {len(samples):,} samples -> {path}")


@click.command(name="detok-check")
@click.option("--task", "task_names", multiple=True, required=True, help="Task name; repeat for several.")
@click.option("--data-dir", type=click.Path(file_okay=False), default=None, help="Original files [default: the hub].")
@click.option("--split", default=None, help="CBT: valid | test.")
@click.option("--detokenizer", type=click.Choice(["default", "megatron"]), default="default", show_default=True,
              help="megatron: Megatron-LM's (not invertible), checked against gpt2eval's own tokenize.")
@click.option("--show", type=int, default=3, show_default=True, help="Lines that fail to round-trip to print.")
def detok_check(task_names, data_dir, split, detokenizer, show):
    """Round-trip rate of each task's detokenizer on its whole original data.

    A line round-trips when tokenize(detokenize(line)) == line. Megatron-LM's
    detokenizers have no inverse: their rate is measured with gpt2eval's tokenize of the
    corpus and shows how much text they change that gpt2eval's would not.
    """
    import importlib
    from types import SimpleNamespace

    from ..detokenizers import round_trip_failures
    from ..errors import UsageError
    from ..registry import get_task_class

    for name in task_names:
        task = get_task_class(name)(DataConfig(data_dir=data_dir, split=split))
        if not task.detokenizer:
            click.echo(f"{name}: no detokenizer (the text is scored as it is)")
            continue
        module = importlib.import_module(f"gpt2eval.detokenizers.{task.detokenizer}")
        what = task.detokenizer
        if detokenizer == "megatron":
            if not task.megatron:
                raise UsageError(f"--detokenizer megatron: Megatron-LM has no detokenizer for task {name}: use default")
            from ..detokenizers.megatron import DETOKENIZERS

            module = SimpleNamespace(detokenize=DETOKENIZERS[task.megatron], tokenize=module.tokenize)
            what = f"megatron.{task.megatron} (not invertible; through gpt2eval's {task.detokenizer} tokenize)"
        lines = task.detokenizer_lines()
        bad = round_trip_failures(module, lines)
        ok = len(lines) - len(bad)
        click.echo(f"{name}: detokenizer {what}: {ok:,}/{len(lines):,} lines round-trip ({100 * ok / max(1, len(lines)):.3f}%)")
        for line in bad[:show]:
            click.echo(f"  original:  {line!r}\n  roundtrip: {module.tokenize(module.detokenize(line))!r}")


@click.command(name="tasks")
def list_tasks():
    """List registered tasks with metric, denominator and the paper's gpt2-large number."""
    from ..paper import paper_value
    from ..registry import get_task_class, task_names

    rows = [("task", "metric", "denominator", "paper gpt2-large", "description")]
    for name in task_names():
        cls = get_task_class(name)
        paper = paper_value(name, "gpt2-large", cls.metric)
        denominator = f"{cls.denominator:,} {cls.unit}s" if cls.denominator else f"per {cls.unit}"
        rows.append((name, cls.metric, denominator, "-" if paper is None else f"{paper:g}", cls.description))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for r in rows:
        click.echo("  ".join(c.ljust(w) for c, w in zip(r[:4], widths)) + "  " + r[4])
