"""`gpt2eval cache info|clear`: the work-unit stores (gpt2eval-cache.sqlite) that let a killed run resume."""
from __future__ import annotations

from pathlib import Path

import click

from gpt2eval.errors import UsageError


@click.group(name="cache")
def cache():
    """Inspect or delete the stores of finished work units (gpt2eval-cache.sqlite beside the results).

    Not the hub's download cache (~/.cache/huggingface), which `gpt2eval download` fills.
    """


def _found(paths) -> list[Path]:
    from gpt2eval.engine.store import find_stores

    paths = paths or ("results",)
    missing = [p for p in paths if not Path(p).exists()]
    if missing:
        raise UsageError(f"no such file or folder: {missing[0]} (pass a results folder or a work-unit store file)")
    return find_stores(paths, damaged=True)


@cache.command()
@click.argument("paths", nargs=-1, type=click.Path())
def info(paths):
    """Units per model and request kind in each work-unit store under PATHS [default: results/].

    A damaged store (or one a run moved aside) is listed as such; `clear` deletes it.
    """
    import sqlite3

    from gpt2eval.engine.store import DAMAGED, Damaged, WorkUnitStore, files_of

    found = _found(paths)
    if not found:
        click.echo(f"no work-unit stores under {', '.join(paths or ('results',))}")
    for path in found:
        size = sum(p.stat().st_size for p in files_of(path))
        click.echo(f"{path}: {size / 2**20:,.1f} MiB")
        if DAMAGED in path.name:
            click.echo(f"  moved aside by a run (damaged): `gpt2eval cache clear {path.parent}` deletes it")
            continue
        try:
            db = WorkUnitStore(path, readonly=True)
            rows = db.info()
            db.close()
        except Damaged as e:
            click.echo(f"  damaged ({e}): the next run moves it aside and recomputes; `gpt2eval cache clear {path}` deletes it")
            continue
        except sqlite3.Error as e:
            click.echo(f"  cannot be read ({e}): check its permissions")
            continue
        for model, kind, n_units, n_items, n_bytes in rows:
            click.echo(f"  {model}  {kind}: {n_units:,} units, {n_items:,} items, {n_bytes / 2**20:,.1f} MiB")


@cache.command()
@click.argument("paths", nargs=-1, type=click.Path())
def clear(paths):
    """Delete the work-unit stores under PATHS [default: results/], damaged ones too; results are kept."""
    from gpt2eval.engine.store import files_of

    for path in _found(paths):
        files = files_of(path)
        size = sum(p.stat().st_size for p in files)
        try:
            for p in files:
                p.unlink()
        except OSError as e:
            raise UsageError(f"cannot delete {e.filename} ({e.strerror}): check the folder's permissions") from None
        click.echo(f"removed {path} ({size / 2**20:,.1f} MiB)")
