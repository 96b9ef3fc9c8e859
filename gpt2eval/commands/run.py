"""`gpt2eval run`, `detok-check` and `tasks`: scoring a model, checking detokenizers, listing tasks."""
from __future__ import annotations

import textwrap

import click

from gpt2eval.config import DataConfig, ModelConfig, RunConfig, WindowConfig
from gpt2eval.commands.options import build, data_options, given_names, model_options, run_options, task_list, window_options
from gpt2eval.commands.task_options import TaskCommand, given_task_options


@click.command(cls=TaskCommand)
@click.option("--task", "task_names", multiple=True, help="Task name; repeat for several (`gpt2eval tasks` lists them).")
@click.option("--tasks", default=None, help="Comma-separated task names, as lm-eval takes them: --tasks ptb,lambada.")
@model_options
@window_options
@data_options
@run_options
@click.option("--output", type=click.Path(), default=None, help="Result file (one task) or folder [default: results/<model>/].")
@click.option("--log-samples", is_flag=True, help="Also write per-example records as <result>.samples.jsonl.")
@click.option("--save-tokens", is_flag=True, help="Also write one row per scored token (NLL, context, span in the "
              "original text) as <result>.tokens.parquet, from the same pass; `gpt2eval report` shows them.")
@click.option("--force", is_flag=True, help="Replace an existing result of another config (kept otherwise).")
@click.option("--quiet", is_flag=True, help="No progress bar or progress lines.")
def run(task_names, tasks, output, log_samples, save_tokens, force, quiet, **opts):
    """Score a model on tasks; write one result JSON per task.

    Data, options and output paths are checked for every task before the model loads, and
    each result is written as soon as its task finishes. An existing result of another
    config is kept (the run stops before any work) unless --force. Finished work units are
    kept in the work-unit store beside the output (or in --store-dir), so a killed run,
    rerun the same way, resumes where it stopped. Under torchrun every process takes its share of the work units (see README,
    Running on many GPUs). With several tasks, the table against the paper's numbers is
    printed at the end.
    """
    from gpt2eval.pipeline.evaluate import output_path
    from gpt2eval.pipeline.execute import execute
    from gpt2eval.pipeline.plan import job, plan_jobs
    from gpt2eval.pipeline.presets import per_task
    from gpt2eval.registry import implied_presets, unique_task_names, with_implied_preset

    names = unique_task_names(task_list(task_names, tasks))
    model_cfg, window_cfg, data_cfg = build(ModelConfig, opts), build(WindowConfig, opts), build(DataConfig, opts)
    data_cfgs = per_task(names, data_cfg)  # each task gets its own options; one that none reads is refused
    implied = implied_presets(given_names(task_names, tasks))  # lambada_openai: lambada read as lm-eval reads it
    data_cfgs = {name: with_implied_preset(data, name, implied) for name, data in data_cfgs.items()}
    paths = [output_path(output, model_cfg.model, name, len(names)) for name in names]
    jobs = [job(name, window_cfg, data_cfgs[name], path, log_samples=log_samples, save_tokens=save_tokens)
            for name, path in zip(names, paths)]
    plan = plan_jobs(jobs, model_cfg, build(RunConfig, opts), force=force)
    execute(plan, quiet=quiet)
    if len(names) > 1 and plan.dist.is_main:
        echo_table([str(p) for p in paths])


def echo_table(paths: list[str]) -> None:
    """The table of these results against the paper's numbers (as `gpt2eval table`)."""
    from gpt2eval.report.table import build_table

    click.echo("\n" + build_table(paths, "markdown"), nl=False)


def first_difference(original: str, roundtrip: str, width: int = 24) -> str:
    """Where two lines first differ, with ``width`` characters either side: lines are long."""
    at = next((i for i, (a, b) in enumerate(zip(original, roundtrip)) if a != b), min(len(original), len(roundtrip)))
    lo = max(0, at - width)

    def window(text: str) -> str:
        return ("…" if lo else "") + repr(text[lo : at + width])[1:-1] + ("…" if at + width < len(text) else "")

    return (f"  first difference at character {at:,} of {len(original):,}:\n"
            f"    original:  {window(original)}\n    roundtrip: {window(roundtrip)}")


@click.command(name="detok-check", cls=TaskCommand, task_options="data")
@click.option("--task", "task_names", multiple=True, required=True, help="Task name; repeat for several.")
@click.option("--data-dir", type=click.Path(file_okay=False), default=None, help="Original files [default: the hub].")
@click.option("--detokenizer", type=click.Choice(["default", "megatron"]), default="default", show_default=True,
              help="megatron: Megatron-LM's (not invertible), checked against gpt2eval's own tokenize.")
@click.option("--show", type=int, default=3, show_default=True, help="Lines that fail to round-trip to print.")
def detok_check(task_names, data_dir, detokenizer, show, **opts):
    """Round-trip rate of each task's detokenizer on its whole original data.

    A line round-trips when tokenize(detokenize(line)) == line. Megatron-LM's
    detokenizers have no inverse: their rate is measured with gpt2eval's tokenize of the
    corpus and shows how much text they change that gpt2eval's would not.
    """
    from types import SimpleNamespace

    from gpt2eval.detokenizers import round_trip_failures
    from gpt2eval.errors import UsageError
    from gpt2eval.pipeline.presets import per_task
    from gpt2eval.registry import get_task_class, unique_task_names

    names = unique_task_names(task_names)
    data_cfgs = per_task(names, DataConfig(data_dir=data_dir, options=given_task_options(opts)))
    for name in names:
        task = get_task_class(name)(data_cfgs[name])
        if not task.detokenizer:
            click.echo(f"{name}: no detokenizer (the text is scored as it is)")
            continue
        module, what = task.detokenizer, task.detokenizer_name
        if detokenizer == "megatron":
            if not task.megatron:
                raise UsageError(f"--detokenizer megatron: Megatron-LM has no detokenizer for task {name}: use default")
            from gpt2eval.detokenizers.megatron import DETOKENIZERS

            module = SimpleNamespace(detokenize=DETOKENIZERS[task.megatron], tokenize=module.tokenize)
            what = f"megatron.{task.megatron} (not invertible; through gpt2eval's {task.detokenizer_name} tokenize)"
        lines = task.detokenizer_lines()
        bad = round_trip_failures(module, lines)
        ok = len(lines) - len(bad)
        click.echo(f"{name}: detokenizer {what}: {ok:,}/{len(lines):,} lines round-trip ({100 * ok / max(1, len(lines)):.3f}%)")
        for line in bad[:show]:
            click.echo(first_difference(line, module.tokenize(module.detokenize(line))))


WIDTH = 100  # columns `gpt2eval tasks` fits in


@click.command(name="tasks")
def list_tasks():
    """List registered tasks: metric, denominator, what --limit counts, the paper's gpt2-large number."""
    from gpt2eval.report.paper import paper_value
    from gpt2eval.registry import ALIAS_PRESETS, ALIASES, get_task_class, task_names

    rows = [("task", "metric", "denominator", "document", "paper gpt2-large", "description")]
    for name in task_names():
        cls = get_task_class(name)
        paper = paper_value(name, "gpt2-large", cls.metric)
        denominator = f"{cls.denominator:,} {cls.counts}s" if cls.denominator else f"per {cls.counts}"
        rows.append((name, cls.metric, denominator, cls.document_name, "-" if paper is None else f"{paper:g}", cls.description))
    # Fits WIDTH columns: the description goes on its own indented line(s) under each task.
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    for i, r in enumerate(rows):
        click.echo("  ".join(c.ljust(w) for c, w in zip(r[:5], widths)).rstrip())
        if i:
            click.echo(textwrap.fill(r[5], WIDTH, initial_indent="    ", subsequent_indent="    "))
    click.echo(textwrap.fill("aliases (lm-eval's names, lm-eval's tasks): " + ", ".join(
        f"{a} = {t}" + (f" --preset {ALIAS_PRESETS[a]}" if a in ALIAS_PRESETS else "") for a, t in ALIASES.items()), WIDTH))
