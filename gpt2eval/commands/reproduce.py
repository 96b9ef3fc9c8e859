"""`gpt2eval download` and `gpt2eval reproduce`: fetching the data and a resumable Table 3 run."""
from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import click

from ..config import DataConfig, ModelConfig, WindowConfig
from ..errors import UsageError
from ..evaluate import summary
from ..options import build, model_options, window_options


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
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Only the first N documents per task (quick looks; not comparable).")
@click.option("--tasks", default=None, help="Comma-separated tasks [default: the nine Table 3 tasks].")
@click.option("--output", type=click.Path(file_okay=False), default=None, help="Folder [default: results/<model>/].")
@click.option("--force", is_flag=True, help="Rerun tasks that already have a result of the same config.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def reproduce(data_dir, limit, tasks, output, force, quiet, **opts):
    """Run the Table 3 tasks one after another, with the paper's protocol defaults.

    Resumable: a task whose result file exists with the same config is skipped (the
    device and batch size do not count). A task whose data cannot be loaded is reported
    as SKIPPED and the others still run.
    """
    from ..evaluate import evaluate_task, prepare
    from ..lm import LM
    from ..models import load_model
    from ..presets import resolve
    from ..progress import Progress
    from ..registry import get_task_class
    from ..results import model_slug, write_json

    model_cfg, window_cfg = build(ModelConfig, opts), build(WindowConfig, opts)
    data_cfg = DataConfig(data_dir=data_dir, limit=limit)
    names = [t.strip() for t in tasks.split(",") if t.strip()] if tasks else table3_tasks()
    for name in names:
        get_task_class(name)
    out = Path(output) if output else Path("results") / model_slug(model_cfg.model)
    loaded, missing = None, []
    for name in names:
        path = out / f"{name}.json"
        if path.exists() and not force:
            diffs = config_differences(path, model_cfg, *resolve(get_task_class(name), window_cfg, data_cfg))
            if not diffs:
                click.echo(f"{name}: skipped, {path} exists with the same config (--force reruns it)")
                continue
            click.echo(f"{name}: rerun, {path} has another config: {'; '.join(diffs)}")
        try:
            task, docs = prepare(name, data_cfg, window_cfg)
        except UsageError as e:
            click.echo(f"{name}: SKIPPED, data missing: {str(e).removeprefix(f'{name}: ')}", err=True)
            missing.append(name)
            continue
        if loaded is None:
            loaded = load_model(model_cfg)
        lm = LM(loaded, task.window, progress=Progress(enabled=not quiet))
        result = evaluate_task(task, docs, lm, model_cfg)
        write_json(result, path)
        click.echo(f"{name}: {summary(result)} -> {path}")
    if missing:
        click.echo(f"no result for {', '.join(missing)}: data missing (see above)", err=True)


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
