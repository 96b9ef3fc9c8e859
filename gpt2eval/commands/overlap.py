"""`gpt2eval overlap`: how much of each test set a training corpus holds (the paper's Table 6)."""
from __future__ import annotations

import re
from pathlib import Path

import click

from gpt2eval.commands.task_options import TaskCommand, given_task_options
from gpt2eval.config import DataConfig


@click.command(cls=TaskCommand, task_options="data")
@click.option("--task", "task_names", multiple=True, required=True, help="Task name; repeat for several.")
@click.option("--corpus", multiple=True, help="Training text: file or glob (plain text, .gz, .jsonl[.gz]); repeat for several.")
@click.option("--corpus-hub", multiple=True, help="DATASET[:CONFIG]:SPLIT:COLUMN, streamed with `datasets`; repeat for several.")
@click.option("--text-field", default="text", show_default=True, help=".jsonl corpora: the field that holds the text.")
@click.option("--n", type=click.IntRange(min=1), default=8, show_default=True, help="n-gram length in normalised words.")
@click.option("--filter", "filter_path", type=click.Path(dir_okay=False), default=None, help="Bloom filter file: written when built from a corpus, reused when given alone.")
@click.option("--capacity", type=click.IntRange(min=1), default=None, help="Size the filter for N n-grams instead of counting them first (one pass less).")
@click.option("--threshold", type=click.FloatRange(0, 1, max_open=True), default=0.0, show_default=True, help="A document overlaps when more than this fraction of its n-grams is found (0: any).")
@click.option("--data-dir", type=click.Path(file_okay=False), default=None, help="Original test files, laid out like shared/data [default: the hub].")
@click.option("--data-file", type=click.Path(dir_okay=False), default=None, help="One file (task text; pre-split enwik8/text8).")
@click.option("--limit", type=int, default=None, help="Only the first N documents of each task.")
@click.option("--output", type=click.Path(dir_okay=False), default=None, help="Overlap JSON [default: results/overlap/<filter or corpus name>.json].")
@click.option("--force", is_flag=True, help="Replace an existing overlap JSON of another analysis (kept otherwise).")
def overlap(task_names, corpus, corpus_hub, text_field, n, filter_path, capacity, threshold, data_dir, data_file, limit, output, force, **opts):
    """Percentage of each task's test n-grams found in a training corpus (the GPT-2 paper's Table 6).

    The corpus is streamed once into a Bloom filter of its normalised n-grams (lower-cased
    alphanumeric words; a first pass counts them so that the false-positive rate stays
    under 1e-8), kept on disk with --filter FILE (its sidecar holds a sha256, checked when
    the filter is reused) and reusable for any task. Corpus files may be plain text or
    .jsonl, each optionally .gz, .xz or .zst; files that are not text are skipped with a
    warning, and a corpus with no n-gram is an error. The JSON gives per task the
    percentage, each document's overlap fraction and the documents above --threshold,
    for `run --exclude-overlap` and `table --exclude-overlap`. Outputs are checked before
    the corpus is read; an existing JSON of another analysis is kept unless --force.
    """
    from gpt2eval.analysis.corpus import resolve
    from gpt2eval.analysis.ngrams import NgramFilter, sidecar
    from gpt2eval.analysis.overlap import analyse, analysis_of, build_filter, check_replace, report
    from gpt2eval.pipeline.presets import per_task
    from gpt2eval.registry import get_task_class
    from gpt2eval.results.files import write_json
    from gpt2eval.results.paths import check_output_file

    sources = resolve(corpus, corpus_hub, text_field)
    _check_filter(filter_path, bool(sources))
    # Every file written is checked before the corpus pass, which takes hours on a real corpus.
    path = check_output_file(Path(output) if output else Path("results") / "overlap" / f"{_slug(filter_path, sources)}.json")
    if sources and filter_path:
        check_output_file(filter_path, "--filter")
        check_output_file(sidecar(Path(filter_path)), "--filter")
    data_cfg = DataConfig(data_dir=data_dir, data_file=data_file, limit=limit, options=given_task_options(opts))
    data_cfgs = per_task(list(task_names), data_cfg)
    prepared = []
    for name in task_names:  # every data problem surfaces before the corpus is read
        task = get_task_class(name)(data_cfgs[name])
        prepared.append((task, task.documents()))
    filt = None if sources else NgramFilter.load(Path(filter_path), n)
    planned = {"n": n, "corpus": [s.describe() for s in sources] if sources else filt.meta["corpus"],
               "filter": {"sha256": None if sources else filt.meta.get("sha256")},
               "tasks": {t.name: {"threshold": threshold, "n_documents": len(d), "data": t.record.as_dict()} for t, d in prepared}}
    check_replace(path, analysis_of(planned), force)
    if sources:
        filt = build_filter(sources, n, capacity, log=lambda msg: click.echo(msg, err=True))
        if filter_path:
            _write(lambda: filt.save(Path(filter_path)), filter_path, "the corpus pass is lost: rerun with --filter elsewhere")
    tasks = {task.name: analyse(task, docs, filt, threshold) for task, docs in prepared}
    result = report(tasks, filt, filter_path)
    keep = f"reuse the filter with --filter {filter_path}" if filter_path else "pass --filter FILE to keep the corpus pass next time"
    _write(lambda: write_json(result, path), path, f"make it writable or pass another --output, and rerun ({keep})")
    click.echo(render(result))
    click.echo(f"-> {path}")


def _write(write, path, what_then: str) -> None:
    """A write that fails after the corpus pass is one line saying what is kept."""
    from gpt2eval.errors import UsageError

    try:
        write()
    except OSError as e:
        raise UsageError(f"cannot write {path} ({e.strerror or e}): {what_then}") from None


def _check_filter(filter_path: str | None, building: bool) -> None:
    from gpt2eval.errors import UsageError

    if building and filter_path and Path(filter_path).exists():
        raise UsageError(f"--filter {filter_path} exists: drop --corpus/--corpus-hub to reuse it, or delete it to rebuild")
    if not building and not filter_path:
        raise UsageError("give a training corpus (--corpus PATH or --corpus-hub SPEC), or --filter FILE built before")
    if not building and not Path(filter_path).is_file():
        raise UsageError(f"--filter {filter_path} not found: build it first with --corpus or --corpus-hub")


def _slug(filter_path: str | None, sources) -> str:
    name = Path(filter_path).stem if filter_path else Path(sources[0].name).name
    return re.sub(r"[^\w.-]+", "_", name).strip("_") or "overlap"


def render(result: dict) -> str:
    """Table 6 style: ours per task beside the paper's two rows."""
    from tabulate import tabulate

    from gpt2eval.report.table6 import table6_rows

    head, columns, rows, notes = table6_rows(result)
    return "\n".join([head, "", tabulate(rows, columns, tablefmt="github"), *notes])
