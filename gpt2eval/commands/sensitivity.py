"""`gpt2eval sensitivity`: every unstated protocol choice varied one at a time."""
from __future__ import annotations

import click

from gpt2eval.config import DataConfig, ModelConfig, RunConfig, WindowConfig
from gpt2eval.errors import UsageError
from gpt2eval.commands.options import build, data_options, model_options, run_options, window_options
from gpt2eval.commands.task_options import TaskCommand


@click.command(cls=TaskCommand)
@click.option("--task", "task_name", required=True, help="One task, e.g. lambada or wikitext2.")
@model_options
@window_options
@data_options
@run_options
@click.option("--strides", default=None, help="Stream tasks: strides to try, e.g. 512,256,32 [default: L/2 and 32].")
@click.option("--paper-model", default=None, help="Paper row to measure against [default: the model's GPT-2 size, else the paper's size nearest in parameter count, as `gpt2eval table`].")
@click.option("--output", type=click.Path(file_okay=False), default=None, help="Folder [default: results/<model>/sensitivity/].")
@click.option("--force", is_flag=True, help="Replace results of another config in the folder (kept otherwise).")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def sensitivity(task_name, strides, paper_model, output, force, quiet, **opts):
    """What each protocol choice the paper leaves open is worth, for one task.

    From the --preset's reading (default paper), each choice the task reads (stride,
    EOS prefix, detokenizer, and each option the task declares, as LAMBADA's format) is
    set to each other value in turn, the model loaded once. Writes one result
    per variant (left out of tables), <task>-sensitivity.json/.md (choice, value, metric,
    difference from the base run and from the paper) and <task>-tornado.png. Everything
    is checked before the model loads, as for `run` (model config, window, data, folder);
    a result of another config in the folder is kept unless --force. Work units are
    cached as for `run`, so a rerun resumes and reuses them, and it runs under torchrun.
    """
    from gpt2eval.analysis.sensitivity import parse_strides_option, run_sensitivity

    if paper_model is not None and paper_model not in ("gpt2", "gpt2-medium", "gpt2-large", "gpt2-xl"):
        raise UsageError(f"--paper-model {paper_model!r} is not one of gpt2, gpt2-medium, gpt2-large, gpt2-xl")
    from gpt2eval.registry import canonical_name, implied_presets, with_implied_preset

    data = with_implied_preset(build(DataConfig, opts), canonical_name(task_name), implied_presets([task_name]))
    run_sensitivity(task_name, build(ModelConfig, opts), build(WindowConfig, opts), data,
                    parse_strides_option(strides), output, paper_model, quiet, echo=click.echo,
                    run_cfg=build(RunConfig, opts), force=force)
