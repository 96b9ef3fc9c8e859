"""`gpt2eval download` and `gpt2eval reproduce`: fetching the data and a resumable Table 3 run."""
from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import click

from ..config import DataConfig, ModelConfig, WindowConfig
from ..errors import UsageError
from ..options import LIMIT_HELP, build, model_options, task_list, window_options
from ..registry import get_task_class


def table3_tasks() -> list[str]:
    """The tasks of the paper's Table 3, in its column order (from the paper CSV)."""
    from ..paper import columns

    return list(dict.fromkeys(c["task"] for c in columns()))


@click.command()
@click.option("--task", "task_names", multiple=True, help="Task to fetch; repeat for several [default: the Table 3 tasks].")
@click.option("--model", "models", multiple=True, help="Hub id to fetch; repeat for several [default: gpt2-large].")
@click.option("--revision", default=None, help="Hub revision of the model(s).")
@click.option("--data-dir", type=click.Path(file_okay=False), default=None,
              help="Write the original files here, laid out like shared/data [default: the datasets cache].")
def download(task_names, models, revision, data_dir):
    """Pre-fetch models and data sets so runs work offline (HF_HUB_OFFLINE=1).

    Stops at the first thing that cannot be fetched.
    """
    from ..download import check_online, check_task, download_model, fetch_task

    check_online()
    task_names = task_names or table3_tasks()
    for name in task_names:
        check_task(name)
    for model in models or (ModelConfig.model,):
        click.echo(f"model {model}: {download_model(model, revision)}")
    for name in task_names:
        click.echo(f"{name}: {fetch_task(name, data_dir)}")


@click.command()
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
@click.option("--force", is_flag=True, help="Rerun tasks that already have a result of the same config.")
@click.option("--quiet", is_flag=True, help="No progress bar or progress lines.")
@click.pass_context
def reproduce(ctx, data_dir, limit, task_names, tasks, results_dir, output, report, force, quiet, **opts):
    """Run the Table 3 tasks one after another, with the paper's protocol defaults.

    Resumable: a task whose result file exists with the same config is skipped (the
    device and batch size do not count). The data of every task is looked for first, then
    the model is loaded, so a model problem is the first error; a task whose data cannot
    be loaded is reported as SKIPPED and the others still run. Then the table is printed
    and written with the figures. Exit 1 when a task was skipped or failed.
    """
    from ..evaluate import evaluate_task, limit_note, prepare, summary
    from ..lm import LM
    from ..models import load_model
    from ..progress import Progress
    from ..results import model_slug, write_json

    model_cfg, window_cfg = build(ModelConfig, opts), build(WindowConfig, opts)
    data_cfg = DataConfig(data_dir=data_dir, limit=limit)
    names = task_list(task_names, tasks) if task_names or tasks else table3_tasks()
    for name in names:
        get_task_class(name)
    out = Path(output) if output else Path(results_dir) / model_slug(model_cfg.model)
    click.echo(f"results folder: {out}")
    todo, missing, failed = [], {}, {}
    for name in names:
        path = out / f"{name}.json"
        if path.exists() and not force:
            diffs = config_differences(path, model_cfg, window_cfg, data_cfg)
            if not diffs:
                click.echo(f"{name}: skipped, {path} exists with the same config (--force reruns it)")
                continue
            click.echo(f"{name}: rerun, {path} has another config: {'; '.join(diffs)}")
        try:
            todo.append(prepare(name, data_cfg))
        except UsageError as e:
            missing[name] = str(e).removeprefix(f"{name}: ")
    if todo or missing:
        # Before any data message: offline, a model missing from the cache is the real error.
        progress = Progress(enabled=not quiet)
        lm = LM(load_model(model_cfg), window_cfg, progress=progress)
    for name, why in missing.items():
        click.echo(f"{name}: SKIPPED, data missing: {why}", err=True)
    for task, docs in todo:
        progress.label = task.name
        try:
            result = evaluate_task(task, docs, lm, model_cfg, window_cfg, data_cfg)
        except UsageError as e:
            failed[task.name] = str(e)
            click.echo(f"{task.name}: FAILED: {e}", err=True)
            continue
        path = out / f"{task.name}.json"
        write_json(result, path)
        click.echo(f"{task.name}: {summary(result)} -> {path}")
        if note := limit_note(task, result):
            click.echo(note)
    if report:
        write_report(out)
    if missing or failed:
        click.echo(not_done_message(missing, failed, data_dir), err=True)
        ctx.exit(1)


def write_report(folder: Path) -> None:
    """Table 3 (printed, and as .md, .csv, .tex) and the figures from the results in ``folder``."""
    from ..plot import plot_all
    from ..table import build_table, load_results

    if not folder.is_dir() or not load_results([str(folder)]):
        click.echo(f"no results in {folder}: no table", err=True)
        return
    text = build_table([str(folder)], "markdown")
    click.echo("\n" + text)
    (folder / "table3.md").write_text(text, encoding="utf-8")
    for fmt, suffix in (("csv", "csv"), ("latex", "tex")):
        (folder / f"table3.{suffix}").write_text(build_table([str(folder)], fmt), encoding="utf-8")
    figures = plot_all([str(folder)], folder / "figures", ("pdf",))
    click.echo(f"table -> {folder}/table3.{{md,csv,tex}}; {len(figures)} figure files -> {folder / 'figures'}")


def not_done_message(missing: dict, failed: dict, data_dir) -> str:
    """Which tasks have no result, and how to get their data."""
    lines = []
    if missing:
        where = f"--data-dir {data_dir}" if data_dir else "the hub (or its local cache when offline)"
        lines.append(f"no result for {', '.join(missing)}: data missing from {where}. Where there is network, "
                     "`make download` fetches it into the hub cache (then rerun, offline with HF_DATASETS_OFFLINE=1), "
                     "or `gpt2eval download --task NAME --data-dir DIR` writes the files (then rerun with DATA_DIR=DIR "
                     "or --data-dir DIR); the README's Data section gives each file's source.")
    if failed:
        lines.append(f"no result for {', '.join(failed)}: failed (see above)")
    return "\n".join(lines)


def config_differences(path: Path, model_cfg, window_cfg, data_cfg) -> list[str]:
    """How the result at ``path`` differs from this config in what changes the numbers."""
    from ..models import resolve_device, resolve_dtype

    try:
        result = json.loads(path.read_text(encoding="utf-8"))
        stored, loaded = result["config"], result["model"]
    except (OSError, ValueError, KeyError, TypeError):
        return ["it is not a readable result file"]
    length = window_cfg.max_length or loaded["context_length"]
    want = {
        **{f"model.{k}": v for k, v in asdict(model_cfg).items() if k != "device"},
        "model dtype as run": str(resolve_dtype(model_cfg.dtype, resolve_device(model_cfg.device))).removeprefix("torch."),
        **{f"data.{k}": v for k, v in asdict(data_cfg).items() if k != "data_dir"},
        "window.max_length": length,
        "window.stride": window_cfg.stride or length,
        "window.eos_prefix": window_cfg.eos_prefix,
    }
    have = {
        **{f"model.{k}": v for k, v in stored.get("model", {}).items()},
        "model dtype as run": loaded.get("dtype"),
        **{f"data.{k}": v for k, v in stored.get("data", {}).items()},
        **{f"window.{k}": v for k, v in stored.get("window", {}).items()},
    }
    return [f"{k} {have.get(k)!r} != {v!r}" for k, v in want.items() if have.get(k) != v]
