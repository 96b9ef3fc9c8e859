"""Existing results are kept: a result of another run is replaced only with --force.

A quick ``--limit`` look must never wipe a day's full run, so every command that writes a
result checks the file already there before the model loads. "Another run" means other
numbers, judged on resolved values, not on how the options were spelled:

    compared                          as
    the model                         a local directory's weight files (sha256), wherever
                                      it lies; a hub id and the commit it resolved to
    the dtype                         as run (``--dtype auto`` is float32 on a CPU)
    the window                        length and stride as run (None -> the context), prefix
    the task protocol                 every task option as run (``Task.protocol``)
    the data                          sha256 of every file read, or the hub rebuild's
    the documents                     how many were scored (``--limit`` spelled 5000 or
                                      left out is the same run on 3,761 PTB sentences)

Not compared: the device, the batch size, where the data or model lie, the preset's name
(it only fills the options above), options that change no number. ``differences`` is the
one comparison: ``plan.check_existing`` calls it for every job of every command once the
job's data are read and the model's config (``model_identity``), before any weights load;
``check_replace`` raises on it.
"""
from __future__ import annotations

import json
from pathlib import Path

from gpt2eval.errors import UsageError


def model_identity(model_cfg, config) -> dict:
    """What names a model's numbers, from its options and config (no weights loaded)."""
    from gpt2eval.models.fingerprint import weights_sha256
    from gpt2eval.models.loading import context_length, resolve_device, resolve_dtype

    try:
        context = context_length(config)
    except UsageError:
        context = None
    return {
        "name": model_cfg.model,
        "weights_sha256": weights_sha256(model_cfg.model),
        "commit": getattr(config, "_commit_hash", None),
        "revision": model_cfg.revision,
        "dtype": str(resolve_dtype(model_cfg.dtype, resolve_device(model_cfg.device))).removeprefix("torch."),
        "context_length": context,
    }


def check_replace(path: Path, task, docs, model: dict, force: bool) -> None:
    """Refuse to write ``path`` over a result of another run unless ``force``."""
    if force or not Path(path).exists():
        return
    diffs = differences(Path(path), task, docs, model)
    if diffs:
        more = f" and {len(diffs) - 2} more" if len(diffs) > 2 else ""
        raise UsageError(f"{path} holds a result of another config ({'; '.join(diffs[:2])}{more}): kept it; "
                         "pass --force to replace it, or write elsewhere with --output")


def differences(path: Path, task, docs, model: dict) -> list[str]:
    """How the result at ``path`` differs from running ``task`` on ``docs`` with ``model``."""
    try:
        result = json.loads(path.read_text(encoding="utf-8"))
        stored, loaded = result["config"], result["model"]
        if not all(isinstance(stored.get(k, {}), dict) for k in ("data", "window", "protocol")) or not isinstance(loaded, dict):
            raise TypeError("not a result")
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return ["it is not a readable result file"]
    if result.get("task") != task.name:
        return [f"it is a result of task {result.get('task')!r}"]
    want, have = _resolved(task, docs, model), _stored(result)
    # Not recorded by an older result: the commit, a derived protocol entry (not a task option).
    unknown = {"model commit"} if have.get("model commit") is None else set()
    unknown |= {k for k in want if k.startswith("protocol ") and k not in have}
    out = [f"{k} {have.get(k)!r} != {v!r}" for k, v in want.items() if k not in unknown | {"data"} and have.get(k) != v]
    if [d for d, _ in have["data"]] != [d for d, _ in want["data"]]:
        out.append(f"the data differ ({_data_text(have['data'])} != {_data_text(want['data'])})")
    return out


def _resolved(task, docs, model: dict) -> dict:
    from gpt2eval.engine.options import task_options

    left_out = {opt.name for opt in task_options(task.name) if not opt.protocol}
    window = task.window
    length = window.max_length or model["context_length"]
    local = model["weights_sha256"] is not None
    return {
        "model": f"local weights sha256 {model['weights_sha256'][:12]}..." if local else model["name"],
        **({} if local or model["commit"] is None else {"model commit": model["commit"]}),
        "dtype as run": model["dtype"],
        "window length": length,
        "stride": window.stride or length,
        "eos_prefix": window.eos_prefix,
        "last_window": window.last_window,
        **{f"protocol {k}": v for k, v in task.protocol.items() if k not in left_out},
        "documents (--limit)": len(docs),
        "exclude_overlap": bool(task.data.exclude_overlap),
        "data": data_digests(task.record.as_dict()),
    }


def _stored(result: dict) -> dict:
    from gpt2eval.engine.options import recorded_values, task_options

    stored, loaded = result["config"], result["model"]
    weights, window = loaded.get("weights_sha256"), stored.get("window", {})
    # Under current option names, with what a result older than an option ran with.
    protocol = {**stored.get("protocol", {}), **recorded_values(task_options(result["task"]), stored.get("protocol", {}))}
    return {
        "model": f"local weights sha256 {weights[:12]}..." if weights else loaded.get("name"),
        "model commit": loaded.get("commit"),
        "dtype as run": loaded.get("dtype"),
        "window length": window.get("max_length"),
        "stride": window.get("stride"),
        "eos_prefix": window.get("eos_prefix"),
        "last_window": window.get("last_window", "right"),  # older results: right-aligned
        **{f"protocol {k}": v for k, v in protocol.items()},
        "documents (--limit)": result.get("n_documents"),
        "exclude_overlap": bool(stored.get("data", {}).get("exclude_overlap")),
        "data": data_digests(result.get("data") or {}),
    }


def data_digests(record: dict) -> list[tuple[str, str]]:
    """What a run read, as (digest, label) sorted by digest: each file's sha256, a hub
    rebuild's sha256, else the hub source at its revision with its split and row counts."""
    out = [(str(f.get("sha256")), Path(str(f.get("path", "?"))).name) for f in record.get("files", [])]
    hub = record.get("hub") or {}
    if hub.get("sha256_rebuilt"):
        out.append((hub["sha256_rebuilt"], f"{hub.get('path')} rebuilt"))
    elif hub:
        out.append((f"{hub.get('path')} {hub.get('split')} {json.dumps(hub.get('rows'), sort_keys=True)}", "hub rows"))
    return sorted(out)


def _data_text(digests: list[tuple[str, str]]) -> str:
    return ", ".join(f"{label} {digest[:12]}..." for digest, label in digests) or "no data recorded"
