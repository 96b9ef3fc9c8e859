"""`gpt2eval cache info|clear`: the work-unit caches that let a killed run resume."""
from __future__ import annotations

from pathlib import Path

import click

from gpt2eval.errors import UsageError


@click.group(name="cache")
def cache():
    """Inspect or delete work-unit caches (gpt2eval-cache.sqlite beside the results)."""


def _found(paths) -> list[Path]:
    from gpt2eval.engine.store import find_caches

    paths = paths or ("results",)
    missing = [p for p in paths if not Path(p).exists()]
    if missing:
        raise UsageError(f"no such file or folder: {missing[0]} (pass a results folder or a cache file)")
    return find_caches(paths)


@cache.command()
@click.argument("paths", nargs=-1, type=click.Path())
def info(paths):
    """Units per model and request kind in each cache under PATHS [default: results/]."""
    from gpt2eval.engine.store import Cache, files_of

    found = _found(paths)
    if not found:
        click.echo(f"no work-unit caches under {', '.join(paths or ('results',))}")
    for path in found:
        size = sum(p.stat().st_size for p in files_of(path))
        click.echo(f"{path}: {size / 2**20:,.1f} MiB")
        db = Cache(path)
        for model, kind, n_units, n_items, n_bytes in db.info():
            click.echo(f"  {model}  {kind}: {n_units:,} units, {n_items:,} items, {n_bytes / 2**20:,.1f} MiB")
        db.close()


@cache.command()
@click.argument("paths", nargs=-1, type=click.Path())
def clear(paths):
    """Delete the caches under PATHS [default: results/]; results are kept."""
    from gpt2eval.engine.store import files_of

    for path in _found(paths):
        files = files_of(path)
        size = sum(p.stat().st_size for p in files)
        for p in files:
            p.unlink()
        click.echo(f"removed {path} ({size / 2**20:,.1f} MiB)")
