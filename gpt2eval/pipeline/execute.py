"""Execute a plan: one loaded model scores every job, one atomic result file per job.

Every job's model requests go through one work-unit ``Runner`` (``engine/units.py``): cut
into units, cached in the work-unit store (``engine/store.py``, rank 0 only), and shared out
over torchrun ranks (``engine/distributed.py``), so a killed command, rerun the same way,
resumes from the cache, and a rerun of a job that was already done costs only the reads.
Every rank computes every result; rank 0 alone writes files and prints.
"""
from __future__ import annotations

import json
from contextlib import contextmanager
from dataclasses import asdict, replace
from pathlib import Path

import click

from gpt2eval.errors import UsageError
from gpt2eval.pipeline.plan import Job, Plan


def execute(plan: Plan, *, quiet: bool = False, keep_going: bool = False) -> dict[Path, dict]:
    """Run the plan's jobs in order; ``{path: result}`` of those that finished (on every rank).

    ``keep_going``: a job that fails with a ``UsageError`` is reported as FAILED and the
    others still run (``reproduce``); otherwise the error ends the command.
    """
    from gpt2eval.engine.lm import LM
    from gpt2eval.models import loading
    from gpt2eval.pipeline import evaluate
    from gpt2eval.results.atomic import OutputLock

    dist, todo = plan.dist, plan.todo
    say = click.echo if dist.is_main else _silent
    for j in plan.jobs:
        if j.action in ("skip", "keep") or (j.action == "run" and j.why):
            say(j.why, err=j.action == "keep")
    missing = [j for j in plan.jobs if j.action == "missing"]
    if not todo and not missing:
        return {}
    results: dict[Path, dict] = {}
    lock = OutputLock()
    store = None
    try:
        for j in todo if dist.is_main else ():
            lock.acquire(j.path)  # a second process on the same output stops here, before the model loads
        store = open_store(plan)
        dist.init(plan.device)
        # Before any data message: offline, a model missing from the cache is the real error.
        loaded = loading.load_model(replace(plan.model_cfg, device=plan.device))
        for j in missing:
            say(f"{j.label}: SKIPPED, data missing: {j.why}", err=True)
        runner = make_runner(plan, loaded, store, quiet)
        for j in todo:
            lm = LM(loaded, j.window, runner=runner)  # each job's own window (a preset's stride, a sweep's)
            if lm.progress is not None:
                lm.progress.label = j.label
            try:
                result = evaluate.evaluate_task(j.instance, j.docs, lm, plan.model_cfg)
            except UsageError as e:
                if not keep_going:
                    raise
                j.action, j.why = "failed", str(e)
                say(f"{j.label}: FAILED: {e}", err=True)
                continue
            if j.sweep is not None:
                result["sweep"] = j.sweep
            record_run(result, plan.run_cfg, runner, j.label)
            results[j.path] = result
            if dist.is_main:
                write_result(j, result, plan)
    finally:
        dist.close()
        lock.release()
        if store is not None:
            store.close()
    return results


def _silent(*args, **kwargs) -> None:
    pass


def open_store(plan: Plan):
    """The work-unit store, on rank 0, opened and checked before the model loads (None:
    --no-resume); a damaged one is moved aside and its work recomputed (``store.open_store``)."""
    from gpt2eval.engine.store import FILENAME
    from gpt2eval.engine.store import open_store as open_checked

    if not plan.run_cfg.resume or not plan.dist.is_main:
        return None
    return open_checked(plan.store_dir / FILENAME)


def make_runner(plan: Plan, loaded, store, quiet: bool):
    """The one work-unit runner every job of the plan goes through."""
    from gpt2eval.engine.progress import Progress
    from gpt2eval.engine.units import Runner
    from gpt2eval.models.fingerprint import model_fingerprint

    fingerprint = model_fingerprint(plan.model_cfg, loaded) if store is not None else None
    progress = Progress(enabled=not quiet and plan.dist.is_main)
    return Runner(fingerprint, store, plan.dist, progress, plan.run_cfg.work_unit_tokens, label=plan.model_cfg.model)


def record_run(result: dict, run_cfg, runner, label: str) -> None:
    """The run options, and how the work was done: world size, units, units from the cache."""
    stats = runner.report(label)
    result["config"]["run"] = asdict(run_cfg)
    result["run"] = {"world_size": runner.dist.world_size, "units": stats["units"], "units_from_cache": stats["cached"],
                     "cache": str(runner.store.path) if runner.store else None}


def write_result(j: Job, result: dict, plan: Plan) -> None:
    """The result file (atomic), its line on stdout, and the samples if asked for."""
    from gpt2eval.pipeline.evaluate import limit_note, summary
    from gpt2eval.results.files import write_json

    with unwritable_hint(j.path, plan):
        write_json(result, j.path)
        click.echo(f"{j.label}: {summary(result)} -> {j.path}")
        if (note := limit_note(j.instance, result)) and note not in plan.notes:
            plan.notes.add(note)  # once per task, not once per variant of a sweep
            click.echo(note)
        if j.log_samples:
            write_samples(j.instance, j.samples_path, result)
        if j.save_tokens:
            write_token_file(j, result)


@contextmanager
def unwritable_hint(path: Path, plan: Plan):
    """An output folder made unwritable mid-run: one line saying the work is kept and how to finish."""
    try:
        yield
    except OSError as e:
        from gpt2eval.engine.store import FILENAME

        kept = (f"the scored work units are kept in {plan.store_dir / FILENAME}: make the folder "
                "writable and rerun the same command to finish from them"
                if plan.run_cfg.resume else "make the folder writable and rerun the same command")
        raise UsageError(f"cannot write {named(e.filename) or path} ({e.strerror or e}): {kept}") from None


def named(filename) -> Path | None:
    """The file a user knows: ``results.atomic.write_text`` writes ``.<name>.<random>.tmp``
    beside ``<name>`` and renames it, and an error names that temp file."""
    if not filename:
        return None
    path = Path(filename)
    if path.name.startswith(".") and path.name.endswith(".tmp"):
        return path.with_name(path.name[1:].removesuffix(".tmp").rsplit(".", 1)[0])
    return path


def write_token_file(j: Job, result: dict) -> None:
    """``<result>.tokens.parquet`` from the rows the task kept while scoring (no second pass)."""
    from gpt2eval.results.tokens import write_tokens

    task = j.instance
    if task.token_rows is None:
        click.echo(f"{j.label}: this task keeps no per-token rows: no tokens file written", err=True)
        return
    n = write_tokens(j.tokens_path, task, j.docs, result)
    task.token_rows = None  # the rows can be large (enwik8: millions); they are on disk now
    click.echo(f"{j.label}: {n:,} token rows -> {j.tokens_path}")


def write_samples(task, path: Path, result: dict) -> None:
    """``<result>.samples.jsonl``: the task's own records (LAMBADA passages, CBT questions),
    else one record per document from the result's sums (stream tasks: NLL and tokens)."""
    from gpt2eval.results.atomic import write_text

    samples = task.samples() if hasattr(task, "samples") else None
    if samples is None:
        columns = result["per_document"]
        samples = [dict(zip(columns, row)) for row in zip(*columns.values())]
    write_text(path, "".join(json.dumps(s, ensure_ascii=False) + "\n" for s in samples))
    click.echo(f"{task.name}: {len(samples):,} samples -> {path}")
