"""`gpt2eval download` and `gpt2eval reproduce`: fetching the data and a resumable Table 3 run."""
from __future__ import annotations

from pathlib import Path

import click

from gpt2eval.config import DataConfig, ModelConfig, RunConfig, WindowConfig
from gpt2eval.commands.options import LIMIT_HELP, build, given_names, model_options, run_options, task_list, window_options
from gpt2eval.commands.task_options import TaskCommand, given_task_options
from gpt2eval.registry import unique_task_names


def table3_tasks() -> list[str]:
    """The tasks of the paper's Table 3, in its column order (from the paper CSV)."""
    from gpt2eval.report.paper import columns

    return list(dict.fromkeys(c["task"] for c in columns()))


@click.command()
@click.option("--task", "task_names", multiple=True, help="Task to fetch; repeat for several [default: the Table 3 tasks].")
@click.option("--model", "models", multiple=True, help="Hub id to fetch; repeat for several [default: gpt2-large].")
@click.option("--revision", default=None, help="Hub revision of the model(s).")
@click.option("--data-dir", type=click.Path(file_okay=False), default=None,
              help="Also write the original files here, laid out like shared/data [default: only the HF cache].")
@click.pass_context
def download(ctx, task_names, models, revision, data_dir):
    """Pre-fetch models and data sets so runs work offline (HF_HUB_OFFLINE=1), and verify them.

    Each data set's original file is rebuilt from the hub rows and its sha256 checked
    against the published one, as a run does. Prints one row per model and task (source,
    rows, sha256 ok/mismatch/unknown, bytes, time); once the hub does not answer, the rest
    are listed as unreachable without waiting. Exits 1 if any could not be fetched or
    rebuilt exactly.
    """
    from gpt2eval.data.hub import no_offline_fallback

    with no_offline_fallback():  # its job is to reach the hub: a row per thing it cannot reach
        _download(ctx, task_names, models, revision, data_dir)


def _download(ctx, task_names, models, revision, data_dir):
    from gpt2eval.pipeline.download import check_online, check_task, fetch_model, fetch_task, header, not_tried
    from gpt2eval.results.paths import check_output_dir

    if data_dir:
        check_output_dir(data_dir, "--data-dir")
    check_online()
    task_names = unique_task_names(task_names or table3_tasks())
    for name in task_names:
        check_task(name)
    models = models or (ModelConfig.model,)
    width = max(len(name) for name in [*(f"model {m}" for m in models), *task_names])
    click.echo(header(width))
    rows, down = [], None  # down: the first thing the hub did not answer for (each other would wait ~25 s)
    for model in models:
        rows.append(fetch_model(model, revision))
        down = down or (rows[-1] if rows[-1].sha256 == "unreachable" else None)
        click.echo(rows[-1].line(width))
    for name in task_names:
        rows.append(not_tried(name, down) if down else fetch_task(name, data_dir))
        down = down or (rows[-1] if rows[-1].sha256 == "unreachable" else None)
        click.echo(rows[-1].line(width))
    failed = [f"{r.what} ({r.sha256})" for r in rows if not r.exact]
    if failed:
        click.echo(f"error: {len(failed)} of {len(rows)} not fetched or not exact: {', '.join(failed)} "
                   "(see the table): runs need the network, the original files in --data-dir, or "
                   "--allow-data-mismatch for a rebuild that is not exact", err=True)
        ctx.exit(1)


@click.command(cls=TaskCommand)
@model_options
@window_options
@click.option("--data-dir", type=click.Path(file_okay=False), default=None, help="Original files, laid out like shared/data [default: the hub].")
@click.option("--limit", type=click.IntRange(min=1), default=None, help=LIMIT_HELP)
@click.option("--task", "task_names", multiple=True, help="A task to run; repeat for several [default: the nine Table 3 tasks].")
@click.option("--tasks", default=None, help="Comma-separated tasks, e.g. ptb,lambada [default: the nine Table 3 tasks].")
@click.option("--results-dir", type=click.Path(file_okay=False), default="results", show_default=True,
              help="Results go to <results-dir>/<model>/ (printed first).")
@click.option("--output", type=click.Path(file_okay=False), default=None, help="The folder itself, instead of <results-dir>/<model>/.")
@click.option("--report/--no-report", default=True, show_default=True,
              help="Write table3.md, .csv, .tex and figures/ in the folder from the results there.")
@click.option("--force", is_flag=True, help="Rerun every task, replacing its result (also one of another config).")
@click.option("--save-tokens", is_flag=True, help="Also write <task>.tokens.parquet, one row per scored token; a task whose "
              "result exists without one is rerun (from the work-unit store).")
@run_options
@click.option("--quiet", is_flag=True, help="No progress bar or progress lines.")
@click.pass_context
def reproduce(ctx, data_dir, limit, task_names, tasks, results_dir, output, report, force, save_tokens, quiet, **opts):
    """Run the Table 3 tasks one after another, with the paper's protocol defaults.

    Resumable: a task whose result file exists with the same config is skipped (the
    device and batch size do not count); a result of another config is kept, not rerun,
    unless --force. The data of every task is looked for first, then the model is loaded,
    so a model problem is the first error; a task whose data cannot be loaded is reported
    as SKIPPED and the others still run. Then the table is printed and written with the
    figures. Exit 1 when a task was skipped or failed. Work units are cached and shared
    over torchrun processes as for `run`.
    """
    from gpt2eval.pipeline.execute import execute, unwritable_hint
    from gpt2eval.pipeline.plan import job, plan_jobs
    from gpt2eval.pipeline.presets import per_task
    from gpt2eval.registry import implied_presets, with_implied_preset
    from gpt2eval.results.files import model_slug
    from gpt2eval.results.paths import check_output_dir

    model_cfg, window_cfg = build(ModelConfig, opts), build(WindowConfig, opts)
    data_cfg, run_cfg = DataConfig(data_dir=data_dir, limit=limit, options=given_task_options(opts)), build(RunConfig, opts)
    names = unique_task_names(task_list(task_names, tasks) if task_names or tasks else table3_tasks())
    data_cfgs = per_task(names, data_cfg)  # each task gets its own options; one that none reads is refused
    if task_names or tasks:  # lambada_openai: lambada read as lm-eval reads it
        implied = implied_presets(given_names(task_names, tasks))
        data_cfgs = {name: with_implied_preset(data, name, implied) for name, data in data_cfgs.items()}
    out = check_output_dir(Path(output) if output else Path(results_dir) / model_slug(model_cfg.model))
    if report:
        check_report_outputs(out)
    jobs = [job(name, window_cfg, data_cfgs[name], out / f"{name}.json", save_tokens=save_tokens) for name in names]
    plan = plan_jobs(jobs, model_cfg, run_cfg, force=force, existing="skip", missing_data="skip")
    if plan.dist.is_main:
        click.echo(f"results folder: {out}")
    execute(plan, quiet=quiet, keep_going=True)
    if not plan.dist.is_main:  # under torchrun the other ranks only compute
        return
    if report:
        with unwritable_hint(out, plan):
            write_report(out)
    kept = [j.task for j in jobs if j.action == "keep"]
    if kept:
        click.echo(f"not rerun: {', '.join(kept)} (results of another config kept; --force replaces them)", err=True)
    missing = {j.task: j.why for j in jobs if j.action == "missing"}
    failed = {j.task: j.why for j in jobs if j.action == "failed"}
    earlier = {j.task: j.path for j in jobs if j.action == "missing" and j.path.exists()}
    if missing or failed:
        click.echo(not_done_message(missing, failed, data_dir, earlier), err=True)
        ctx.exit(1)


def check_report_outputs(folder: Path) -> None:
    """The table and the figures can be written, checked with the results before any work."""
    from gpt2eval.results.paths import check_output_dir, check_output_file

    for suffix in ("md", "csv", "tex"):
        check_output_file(folder / f"table3.{suffix}")
    check_output_dir(folder / "figures")


def write_report(folder: Path) -> None:
    """Table 3 (printed, and as .md, .csv, .tex) and the figures from the results in ``folder``."""
    from gpt2eval.report.figures import plot_all
    from gpt2eval.report.table import build_table, load_results
    from gpt2eval.results.atomic import write_text

    if not folder.is_dir() or not load_results([str(folder)]):
        click.echo(f"no results in {folder}: no table", err=True)
        return
    text = build_table([str(folder)], "markdown")
    click.echo("\n" + text)
    write_text(folder / "table3.md", text)
    for fmt, suffix in (("csv", "csv"), ("latex", "tex")):
        write_text(folder / f"table3.{suffix}", build_table([str(folder)], fmt))
    figures = plot_all([str(folder)], folder / "figures", ("pdf",))
    click.echo(f"table -> {folder}/table3.{{md,csv,tex}}; {len(figures)} figure files -> {folder / 'figures'}")


def not_done_message(missing: dict, failed: dict, data_dir, earlier: dict | None = None) -> str:
    """Which tasks have no new result, how to get their data, and which earlier results the
    table shows in their place (so that the summary and the table agree)."""
    lines = []
    if missing:
        where = f"--data-dir {data_dir}" if data_dir else "the hub (or its local cache when offline)"
        lines.append(f"no {'new ' if earlier else ''}result for {', '.join(missing)}: data missing from {where}. Where there is network, "
                     "`make download` fetches it into the hub cache (then rerun, offline with HF_DATASETS_OFFLINE=1), "
                     "or `gpt2eval download --task NAME --data-dir DIR` writes the files (then rerun with DATA_DIR=DIR "
                     "or --data-dir DIR); the README's Data section gives each file's source.")
    if earlier:
        lines.append(f"the table shows earlier results for {', '.join(earlier)} ({', '.join(str(p) for p in earlier.values())}), "
                     "kept from another run; without their data they could not be checked (delete them to leave the cells empty)")
    if failed:
        lines.append(f"no result for {', '.join(failed)}: failed (see above)")
    return "\n".join(lines)
