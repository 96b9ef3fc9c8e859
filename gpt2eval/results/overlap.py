"""Overlap files written by `gpt2eval overlap`: read, checked against the data, and applied.

``keep_clean`` drops the overlapping documents before a run scores them (``run
--exclude-overlap``); ``exclude_from_result`` recomputes a stored result on its clean
documents (``table --exclude-overlap``). Both refuse a file made from other data.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from gpt2eval.errors import UsageError

FORMAT = "gpt2eval-overlap/1"


def load_overlap(path: str) -> dict:
    try:
        obj = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        obj = None
    if not isinstance(obj, dict) or obj.get("format") != FORMAT:
        raise UsageError(f"--exclude-overlap {path}: not an overlap JSON written by `gpt2eval overlap`")
    return obj


def _entry(overlap: dict, task: str, path: str, data: dict) -> dict:
    entry = overlap["tasks"].get(task)
    if entry is None:
        raise UsageError(f"--exclude-overlap {path} has no task {task} (has {', '.join(overlap['tasks'])}): "
                         f"run `gpt2eval overlap --task {task} ...` first")
    if _digests(entry["data"]) != _digests(data):
        raise UsageError(f"--exclude-overlap {path}: task {task} was analysed on other data (sha256 differs): "
                         "rerun `gpt2eval overlap` with the same --data-dir and task options")
    return entry


def _digests(data: dict) -> set:
    hub = data.get("hub") or {}
    files = {f["sha256"] for f in data.get("files", []) if f.get("role") != "exclude-overlap"}
    return files | {hub[k] for k in ("sha256_rebuilt", "fingerprint") if hub.get(k)}


def _check_ids(ids, entry: dict, task: str, path: str) -> set:
    known = set(entry["per_document"]["id"])
    missing = [i for i in ids if i not in known]
    if missing:
        raise UsageError(f"--exclude-overlap {path}: {len(missing):,} documents of {task} were not analysed "
                         f"(e.g. {missing[0]}): rerun `gpt2eval overlap` without --limit")
    return set(entry["overlapping"])


def keep_clean(task, docs: list, path: str) -> list:
    """``run --exclude-overlap``: the documents that do not overlap, before any scoring.

    The overlap file is recorded in the result's ``data.files`` with its sha256 and the
    number of documents it removed.
    """
    from gpt2eval.data.files import read_bytes

    entry = _entry(load_overlap(path), task.name, path, task.record.as_dict())
    bad = _check_ids([d.id for d in docs], entry, task.name, path)
    kept = [d for d in docs if d.id not in bad]
    read_bytes(Path(path), task.record)
    task.record.files[-1].update(role="exclude-overlap", documents_excluded=len(docs) - len(kept))
    return kept


def exclude_from_result(result: dict, overlap: dict, path: str) -> dict:
    """``table --exclude-overlap``: the result's metrics recomputed on its kept documents.

    From the stored per-document sums alone, with the task's own ``metrics`` and the same
    bootstrap, so for tasks whose documents are scored independently (LAMBADA, CBT) it
    equals a rerun on the kept documents. In a stream task the kept documents were scored
    with the excluded text still in their context.
    """
    from gpt2eval.results.bootstrap import task_for_result, uncertainty

    if result["task"] not in overlap["tasks"]:
        print(f"note: {path} has no task {result['task']}: its result is shown on all documents", file=sys.stderr)
        return result
    if "per_document" not in result:
        raise UsageError(f"task {result['task']}: the result has no per-document sums to exclude from: rerun it with --exclude-overlap")
    entry = _entry(overlap, result["task"], path, result["data"])
    per = result["per_document"]
    bad = _check_ids(per["id"], entry, result["task"], path)
    keep = [i for i, doc_id in enumerate(per["id"]) if doc_id not in bad]
    if not keep:
        raise UsageError(f"task {result['task']}: every document overlaps ({path}): nothing left to score")
    kept = {k: [v[i] for i in keep] for k, v in per.items()}
    totals = {k: sum(v) for k, v in kept.items() if k != "id"}
    task = task_for_result(result)
    data = {**result["config"]["data"], "exclude_overlap": path}
    return {
        **result,
        "metrics": task.metrics(totals),
        **uncertainty(task.metrics, kept),
        "totals": totals,
        "n_documents": len(keep),
        "config": {**result["config"], "data": data},
        "per_document": kept,
        "overlap_exclusion": {"from": "stored per-document sums", "documents_excluded": len(per["id"]) - len(keep)},
    }
