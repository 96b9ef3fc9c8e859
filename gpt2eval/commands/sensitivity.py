"""`gpt2eval sensitivity`: every unstated protocol choice varied one at a time."""
from __future__ import annotations

import click

from gpt2eval.config import DataConfig, ModelConfig, WindowConfig
from gpt2eval.errors import UsageError
from gpt2eval.commands.options import build, data_options, model_options, window_options


@click.command()
@click.option("--task", "task_name", required=True, help="One task, e.g. lambada or wikitext2.")
@model_options
@window_options
@data_options
@click.option("--strides", default=None, help="Stream tasks: strides to try, e.g. 512,256,32 [default: L/2 and 32].")
@click.option("--paper-model", default=None, help="Paper row to measure against [default: the model's GPT-2 size, else gpt2-large].")
@click.option("--output", type=click.Path(file_okay=False), default=None, help="Folder [default: results/<model>/sensitivity/].")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def sensitivity(task_name, strides, paper_model, output, quiet, **opts):
    """What each protocol choice the paper leaves open is worth, for one task.

    From the --preset's reading (default paper), each choice the task reads (stride,
    EOS prefix, LAMBADA format, stop-word filter and list, detokenizer, word count,
    joins) is set to each other value in turn, the model loaded once. Writes one result
    per variant (left out of tables), <task>-sensitivity.json/.md (choice, value, metric,
    difference from the base run and from the paper) and <task>-tornado.png.
    """
    from gpt2eval.analysis.sensitivity import parse_strides_option, run_sensitivity

    if paper_model is not None and paper_model not in ("gpt2", "gpt2-medium", "gpt2-large", "gpt2-xl"):
        raise UsageError(f"--paper-model {paper_model!r} is not one of gpt2, gpt2-medium, gpt2-large, gpt2-xl")
    from gpt2eval.registry import canonical_name, implied_presets, with_implied_preset

    data = with_implied_preset(build(DataConfig, opts), canonical_name(task_name), implied_presets([task_name]))
    run_sensitivity(task_name, build(ModelConfig, opts), build(WindowConfig, opts), data,
                    parse_strides_option(strides), output, paper_model, quiet, echo=click.echo)
