"""`gpt2eval plot` and `gpt2eval sweep-stride`: figures and the stride ablation."""
from __future__ import annotations

from pathlib import Path

import click

from gpt2eval.config import DataConfig, ModelConfig, RunConfig, WindowConfig
from gpt2eval.errors import UsageError
from gpt2eval.commands.options import build, data_options, model_options, run_options, window_options
from gpt2eval.commands.task_options import TaskCommand


@click.command()
@click.argument("results", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--output", type=click.Path(file_okay=False), default="results/figures", show_default=True, help="Folder for the figures.")
@click.option("--format", "formats", multiple=True, type=click.Choice(["pdf", "svg"]), help="Also write this format (PNG always); repeat for both.")
def plot(results, output, formats):
    """Figures from result JSON files or folders (searched recursively).

    scaling.png: every Table 3 metric against model size, ours vs the paper's;
    bars-<model>.png: one model against the paper's size by the rule `gpt2eval table` uses
    (the GPT-2 size its name gives, else the paper's size nearest in parameter count);
    stride-<model>.png: stride sweeps, the metric and the tokens run through the model.
    Error bars are the results' 95% confidence intervals where they have them.
    """
    from gpt2eval.results.paths import check_output_dir
    from gpt2eval.report.figures import plot_all

    check_output_dir(output)
    for path in plot_all(results, Path(output), formats):
        click.echo(str(path))


@click.command(name="sweep-stride", cls=TaskCommand)
@click.option("--task", "task_name", required=True, help="A stream task, e.g. wikitext103.")
@click.option("--strides", required=True, help="Comma-separated strides, e.g. 1024,512,256,128.")
@model_options
@window_options
@data_options
@run_options
@click.option("--output", type=click.Path(file_okay=False), default=None, help="Folder [default: results/<model>/sweep-stride/].")
@click.option("--force", is_flag=True, help="Replace results of another config in the folder (kept otherwise).")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def sweep_stride(task_name, strides, output, force, quiet, **opts):
    """Score one task at several strides, loading the model once.

    Writes <task>-stride<S>.json per stride, <task>-stride-summary.json and the figure
    <task>-stride.png. Everything is checked before the model loads, as for `run`: the
    strides against the window length, the model's config, the data and the folder; a
    result of another config there is kept unless --force. Work units are cached as for
    `run` (a rerun resumes), and it runs under torchrun.
    """
    from gpt2eval.analysis.sweep import parse_strides
    from gpt2eval.analysis.sweep import sweep_stride as run_sweep

    if opts["stride"] is not None:
        raise UsageError("--stride does not apply to sweep-stride: list the strides in --strides")
    run_sweep(task_name, parse_strides(strides), build(ModelConfig, opts), build(WindowConfig, opts),
              build(DataConfig, opts), build(RunConfig, opts), output, force, quiet, echo=click.echo)
