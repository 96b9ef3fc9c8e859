"""Result files: one JSON per task run, written whole; the per-document sums it stores."""
from __future__ import annotations

import json
from pathlib import Path

from gpt2eval.results.atomic import write_text


def totals_of(sums: list[dict]) -> dict:
    """Column sums of the per-document sums (floats stay floats, counts stay ints)."""
    keys = sums[0].keys() if sums else ()
    return {k: sum(s[k] for s in sums) for k in keys}


def per_document(docs, sums: list[dict]) -> dict:
    """Per-document sums stored column-wise: what a bootstrap resamples, no rerun needed."""
    out = {"id": [d.id for d in docs]}
    for k in (sums[0].keys() if sums else ()):
        out[k] = [s[k] for s in sums]
    return out


def model_slug(model: str) -> str:
    """Folder name for a model: a local directory's name, or the hub id with '/' -> '__'."""
    path = Path(model)
    return path.resolve().name if path.is_dir() else model.replace("/", "__")


def write_json(result: dict, path: Path) -> None:
    """Atomic write: a crash never leaves half a result behind (``atomic.write_text``)."""
    write_text(path, json.dumps(result, indent=1, allow_nan=True) + "\n")
