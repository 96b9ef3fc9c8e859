"""`gpt2eval run`, `detok-check` and `tasks`: scoring a model, checking detokenizers, listing tasks."""
from __future__ import annotations

import json
from dataclasses import asdict, replace
from pathlib import Path

import click

from gpt2eval.config import DataConfig, ModelConfig, RunConfig, WindowConfig
from gpt2eval.commands.options import build, data_options, given_names, model_options, run_options, task_list, window_options


@click.command()
@click.option("--task", "task_names", multiple=True, help="Task name; repeat for several (`gpt2eval tasks` lists them).")
@click.option("--tasks", default=None, help="Comma-separated task names, as lm-eval takes them: --tasks ptb,lambada.")
@model_options
@window_options
@data_options
@run_options
@click.option("--output", type=click.Path(), default=None, help="Result file (one task) or folder [default: results/<model>/].")
@click.option("--log-samples", is_flag=True, help="Also write per-example records as <result>.samples.jsonl.")
@click.option("--force", is_flag=True, help="Replace an existing result of another config (kept otherwise).")
@click.option("--quiet", is_flag=True, help="No progress bar or progress lines.")
def run(task_names, tasks, output, log_samples, force, quiet, **opts):
    """Score a model on tasks; write one result JSON per task.

    Data, options and output paths are checked for every task before the model loads, and
    each result is written as soon as its task finishes. An existing result of another
    config is kept (the run stops before any work) unless --force. Finished work units are
    cached beside the output, so a killed run, rerun the same way, resumes where it
    stopped. Under torchrun every process takes its share of the work units (see README,
    Running on many GPUs). With several tasks, the table against the paper's numbers is
    printed at the end.
    """
    from gpt2eval.results.atomic import OutputLock
    from gpt2eval.engine.distributed import from_env
    from gpt2eval.pipeline.evaluate import evaluate_task, limit_note, output_path, prepare, summary
    from gpt2eval.models.fingerprint import check_revision
    from gpt2eval.engine.lm import LM
    from gpt2eval.pipeline.plan import preflight
    from gpt2eval.models.loading import load_model
    from gpt2eval.pipeline.presets import resolve
    from gpt2eval.registry import get_task_class, implied_presets, unique_task_names, with_implied_preset
    from gpt2eval.results.files import write_json

    names = task_list(task_names, tasks)
    model_cfg, window_cfg, data_cfg = build(ModelConfig, opts), build(WindowConfig, opts), build(DataConfig, opts)
    names = unique_task_names(names)
    implied = implied_presets(given_names(task_names, tasks))  # lambada_openai: lm-eval's reading
    data_of = {name: with_implied_preset(data_cfg, name, implied) for name in names}
    run_cfg = build(RunConfig, opts)
    dist = from_env()
    check_revision(model_cfg.model, model_cfg.revision)
    paths = {name: output_path(output, model_cfg.model, name, len(names)) for name in names}
    # The preset fills each task's options: compare and check what will actually run.
    resolved = {name: resolve(get_task_class(name), window_cfg, data_of[name]) for name in names}
    check_outputs(paths, resolved, log_samples, force, model_cfg)
    prepared = [prepare(name, data_of[name], window_cfg) for name in names]
    for window, _ in resolved.values():
        preflight(model_cfg, window)
    lock = OutputLock()
    for path in paths.values() if dist.is_main else ():
        lock.acquire(path)  # a second process on the same --output stops here, before the model loads
    device = dist.device(model_cfg.device)
    dist.init(device)
    try:
        loaded = load_model(replace(model_cfg, device=device))
        runner = make_runner(run_cfg, model_cfg, loaded, dist, next(iter(paths.values())).parent, quiet)
        for task, docs in prepared:
            lm = LM(loaded, task.window, runner=runner)  # the preset may set a task's stride or prefix
            if lm.progress is not None:
                lm.progress.label = task.name
            result = evaluate_task(task, docs, lm, model_cfg)
            record_run(result, run_cfg, runner)
            if not dist.is_main:
                continue
            write_json(result, paths[task.name])
            click.echo(f"{task.name}: {summary(result)} -> {paths[task.name]}")
            if note := limit_note(task, result):
                click.echo(note)
            if log_samples:
                write_samples(task, paths[task.name], result)
        if len(names) > 1 and dist.is_main:
            echo_table([str(p) for p in paths.values()])
    finally:
        dist.close()
        lock.release()


def check_outputs(paths: dict, resolved: dict, log_samples, force, model_cfg) -> None:
    """Every file this run will write can be written, and replaces no result of another config."""
    from gpt2eval.pipeline.overwrite import check_replace
    from gpt2eval.results.paths import check_output_file

    for name, path in paths.items():
        check_output_file(path)
        if log_samples:
            check_output_file(path.with_suffix(".samples.jsonl"), "--log-samples")
        check_replace(path, model_cfg, *resolved[name], force)


def echo_table(paths: list[str]) -> None:
    """The table of these results against the paper's numbers (as `gpt2eval table`)."""
    from gpt2eval.report.table import build_table

    click.echo("\n" + build_table(paths, "markdown"), nl=False)


def record_run(result: dict, run_cfg, runner) -> None:
    """The run options, and how the work was done: world size, units, units from the cache."""
    stats = runner.report(result["task"])
    result["config"]["run"] = asdict(run_cfg)
    result["run"] = {"world_size": runner.dist.world_size, "units": stats["units"], "units_from_cache": stats["cached"],
                     "cache": str(runner.cache.path) if runner.cache else None}


def make_runner(run_cfg, model_cfg, loaded, dist, output_dir: Path, quiet: bool):
    """The work-unit runner: the cache on rank 0 (``--cache-dir`` or beside the output)."""
    from gpt2eval.engine.store import FILENAME, Cache
    from gpt2eval.models.fingerprint import model_fingerprint
    from gpt2eval.engine.progress import Progress
    from gpt2eval.engine.units import Runner

    cache = None
    if run_cfg.cache and dist.is_main:
        cache = Cache(Path(run_cfg.cache_dir or output_dir) / FILENAME)
    fingerprint = model_fingerprint(model_cfg, loaded) if cache else None
    progress = Progress(enabled=not quiet and dist.is_main)
    return Runner(fingerprint, cache, dist, progress, run_cfg.unit_tokens, label=model_cfg.model)


def write_samples(task, result_path: Path, result: dict) -> None:
    """``<result>.samples.jsonl``: the task's own records (LAMBADA passages, CBT questions),
    else one record per document from the result's sums (stream tasks: NLL and tokens)."""
    from gpt2eval.results.atomic import write_text

    samples = task.samples() if hasattr(task, "samples") else None
    if samples is None:
        columns = result["per_document"]
        samples = [dict(zip(columns, row)) for row in zip(*columns.values())]
    path = result_path.with_suffix(".samples.jsonl")
    write_text(path, "".join(json.dumps(s, ensure_ascii=False) + "\n" for s in samples))
    click.echo(f"{task.name}: {len(samples):,} samples -> {path}")


def first_difference(original: str, roundtrip: str, width: int = 24) -> str:
    """Where two lines first differ, with ``width`` characters either side: lines are long."""
    at = next((i for i, (a, b) in enumerate(zip(original, roundtrip)) if a != b), min(len(original), len(roundtrip)))
    lo = max(0, at - width)

    def window(text: str) -> str:
        return ("…" if lo else "") + repr(text[lo : at + width])[1:-1] + ("…" if at + width < len(text) else "")

    return (f"  first difference at character {at:,} of {len(original):,}:\n"
            f"    original:  {window(original)}\n    roundtrip: {window(roundtrip)}")


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

    from gpt2eval.detokenizers import round_trip_failures
    from gpt2eval.errors import UsageError
    from gpt2eval.registry import get_task_class

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
            from gpt2eval.detokenizers.megatron import DETOKENIZERS

            module = SimpleNamespace(detokenize=DETOKENIZERS[task.megatron], tokenize=module.tokenize)
            what = f"megatron.{task.megatron} (not invertible; through gpt2eval's {task.detokenizer} tokenize)"
        lines = task.detokenizer_lines()
        bad = round_trip_failures(module, lines)
        ok = len(lines) - len(bad)
        click.echo(f"{name}: detokenizer {what}: {ok:,}/{len(lines):,} lines round-trip ({100 * ok / max(1, len(lines)):.3f}%)")
        for line in bad[:show]:
            click.echo(first_difference(line, module.tokenize(module.detokenize(line))))


@click.command(name="tasks")
def list_tasks():
    """List registered tasks: metric, denominator, what --limit counts, the paper's gpt2-large number."""
    from gpt2eval.report.paper import paper_value
    from gpt2eval.registry import ALIAS_PRESETS, ALIASES, get_task_class, task_names

    rows = [("task", "metric", "denominator", "document", "paper gpt2-large", "description")]
    for name in task_names():
        cls = get_task_class(name)
        paper = paper_value(name, "gpt2-large", cls.metric)
        denominator = f"{cls.denominator:,} {cls.unit}s" if cls.denominator else f"per {cls.unit}"
        rows.append((name, cls.metric, denominator, cls.document_name, "-" if paper is None else f"{paper:g}", cls.description))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    for r in rows:
        click.echo("  ".join(c.ljust(w) for c, w in zip(r[:5], widths)) + "  " + r[5])
    click.echo("aliases (lm-eval's names, lm-eval's tasks): " + ", ".join(
        f"{a} = {t}" + (f" --preset {ALIAS_PRESETS[a]}" if a in ALIAS_PRESETS else "") for a, t in ALIASES.items()))
