"""`gpt2eval table`, `gpt2eval compare` and `gpt2eval report`: reports built from result files alone."""
from __future__ import annotations

from pathlib import Path

import click

from gpt2eval.report.compare import ATOL, RTOL

PAPER_MODELS = ["nearest", "gpt2", "gpt2-medium", "gpt2-large", "gpt2-xl", "prior-sota", "none"]


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--format", "fmt", type=click.Choice(["markdown", "csv", "latex"]), default="markdown", show_default=True)
@click.option("--output", type=click.Path(dir_okay=False), default=None, help="Write here instead of stdout.")
@click.option(
    "--paper-model",
    type=click.Choice(PAPER_MODELS),
    default="nearest",
    show_default=True,
    help="Paper row for models whose name is not a GPT-2 size: nearest = the paper's size nearest in "
         "parameter count (the rule `gpt2eval plot` uses); none: no paper rows.",
)
@click.option("--exclude-overlap", type=click.Path(dir_okay=False), default=None, help="An overlap JSON (gpt2eval overlap): metrics recomputed from stored sums without the overlapping documents (marked †).")
def table(paths, fmt, output, paper_model, exclude_overlap):
    """Table 3 from result files: ours vs the paper, with 95% intervals.

    PATHS are result JSON files or folders (searched for **/*.json). One row group per
    model: ours (± half-width of the 95% bootstrap interval, † where the protocol differs
    from the paper's, explained below the table), the paper's number for the model's
    GPT-2 size, and the difference. Missing results show as "–". CSV gives one row per
    (model, column) with every number in its own field.
    """
    from gpt2eval.results.paths import check_output_file
    from gpt2eval.report.table import build_table

    if output:
        check_output_file(output)
    text = build_table(list(paths), fmt, None if paper_model == "none" else paper_model, exclude_overlap)
    if output:
        Path(output).parent.mkdir(parents=True, exist_ok=True)
        Path(output).write_text(text, encoding="utf-8")
        click.echo(f"table -> {output}")
    else:
        click.echo(text, nl=False)


@click.command()
@click.argument("baseline", type=click.Path(exists=True))
@click.argument("new", type=click.Path(exists=True))
@click.option("--rtol", type=click.FloatRange(min=0), default=RTOL, show_default=True, help="Relative tolerance.")
@click.option("--atol", type=click.FloatRange(min=0), default=ATOL, show_default=True, help="Absolute tolerance.")
@click.option("--ignore-config", is_flag=True, help="Compare even if the protocols differ.")
@click.pass_context
def compare(ctx, baseline, new, rtol, atol, ignore_config):
    """Check NEW against BASELINE: exit 1 if any metric moved or a task is missing.

    BASELINE and NEW are result files or folders holding one result per task (e.g.
    results/<model>/); results are matched by task name. A metric fails when
    |new - baseline| > atol + rtol * |baseline| (nan equals nan). A task only in NEW is
    reported, not failed. Results that ran a different protocol (window, data options,
    task protocol, dtype, model size; not batch size, paths or device) are refused
    unless --ignore-config.
    """
    from gpt2eval.report.compare import compare_results

    report, failed = compare_results(baseline, new, rtol, atol, ignore_config)
    click.echo(report)
    ctx.exit(1 if failed else 0)


@click.command(name="report")
@click.argument("results_dir", type=click.Path(exists=True, file_okay=False))
@click.option("--compare", "compare_dir", type=click.Path(exists=True, file_okay=False), default=None,
              help="A second results folder (B): per-document and per-token (or per-word) differences, task by task.")
@click.option("--output", type=click.Path(dir_okay=False), default=None, help="The HTML file [default: RESULTS_DIR/report.html].")
@click.option("--max-tokens", type=click.IntRange(min=1), default=None,
              help="Token rows embedded per run, whole documents first [default: 1,000,000; WikiText-103 takes ~280k].")
@click.option("--figures/--no-figures", default=True, show_default=True,
              help="Draw the figures and tornado charts (matplotlib: the slow part, seconds per figure).")
def report(results_dir, compare_dir, output, max_tokens, figures):
    """One self-contained HTML page of a results folder: open it offline, attach it anywhere.

    Table 3 beside the paper (as `gpt2eval table`), the figures, sensitivity and overlap
    results when the folder has them, and per task: the documents ranked by loss, the
    per-token NLL distribution, and any document's text shaded token by token (hover for
    the token, its log-prob and context length). Token views need results written with
    `run --save-tokens`. With --compare, tasks are matched by name and shown side by side:
    Δ per document, per token where both tokenize alike, otherwise per word of the
    original text (two models, two detokenizers).
    """
    from gpt2eval.report.html import write_report
    from gpt2eval.report.payload import MAX_ROWS
    from gpt2eval.results.paths import check_output_file

    path = Path(output) if output else Path(results_dir) / "report.html"
    check_output_file(path)
    size = write_report(results_dir, compare_dir, path, max_tokens or MAX_ROWS, figures)
    click.echo(f"report -> {path} ({size / 1e6:,.1f} MB; self-contained, opens offline)")
