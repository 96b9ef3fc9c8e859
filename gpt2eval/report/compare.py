"""Regression check: every metric of every task in NEW against BASELINE.

Results are matched by task name, so each side holds one result per task (one model's
folder, ``results/<model>/``, or single files); the model's name is not matched, since a
baseline and a rerun of the same model often live at different paths.

A metric passes when ``|new - base| <= atol + rtol * |base|`` (``numpy.isclose`` with the
baseline as reference); nan equals nan, inf equals only the same inf. The defaults,
rtol 1e-5 and atol 1e-8, let the same model and protocol rerun anywhere in float32 pass
(the float32 noise on summed nlls is ~1e-7 relative) while one token scored
differently in WikiText-2 (~10 nats over 245,569 words: ~4e-5 on the perplexity) fails.

A task missing from NEW, or a metric missing from a task, fails; a task or metric that
only NEW has is reported as "added" and passes. Two results are only compared when they
ran the same protocol: the window (not ``batch_size``, which must not change numbers),
the data options (not where the data came from: ``data_dir``, ``data_file`` and the
protocol's ``source``), the task's protocol, and the model's dtype and size (model
names and devices may differ). Nor are results on different data: where a result read
a file that is not the published one (a subset, another copy; ``checksum: mismatch``), the
sha256 of what it read must be the other side's too, else "the data differ".
``--ignore-config`` compares them anyway.
"""
from __future__ import annotations

import math
from dataclasses import asdict
from pathlib import Path

from gpt2eval.config import DataConfig, WindowConfig
from gpt2eval.data.files import mismatched
from gpt2eval.engine.options import DEFAULT, current_names, recorded_values, task_options
from gpt2eval.errors import UsageError
from gpt2eval.report.table import load_results

RTOL = 1e-5
ATOL = 1e-8
# Options that cannot change a number by themselves (a preset only fills other options).
NOT_PROTOCOL = {
    "window": ("batch_size", "batch_size_auto"),
    "data": ("data_dir", "data_file", "preset", "allow_data_mismatch"),
    "protocol": ("source",),
}
FAILING = ("CHANGED", "missing")


def by_task(path: str, label: str) -> dict[str, dict]:
    """``{task: result}`` for the result files under ``path``, one per task."""
    found: dict[str, list[tuple[Path, dict]]] = {}
    for file, result in load_results([path]):
        found.setdefault(result["task"], []).append((file, result))
    if not found:
        raise UsageError(f"{label} {path} holds no gpt2eval result files")
    for task, entries in found.items():
        if len(entries) > 1:
            files = ", ".join(str(f) for f, _ in entries)
            raise UsageError(f"{label} has several results for task {task} ({files}): give one model's folder")
    return {task: entries[0][1] for task, entries in found.items()}


def protocol_of(result: dict) -> dict:
    """The settings that change numbers, flattened to ``section.name``."""
    # A field an older result lacks was added later with a default that keeps old numbers
    # (for a task option: the value such a result ran with, ``older_defaults``); an option
    # an older result recorded under an old name is read under its current one.
    options = task_options(result.get("task", ""))
    older_data, older_protocol = older_defaults(options)
    defaults = {"window": asdict(WindowConfig()), "data": {**DataConfig().record(), **older_data}, "protocol": older_protocol}
    left_out = {opt.name for opt in options if not opt.protocol}
    flat = {}
    for section in ("window", "data", "protocol"):
        recorded = current_names(options, result["config"].get(section, {}))
        for name, value in {**defaults[section], **recorded}.items():
            if name not in NOT_PROTOCOL[section] and name not in left_out:
                flat[f"{section}.{name}"] = value
    flat["model.dtype"] = result["model"].get("dtype")
    flat["model.n_parameters"] = result["model"].get("n_parameters")
    return flat


def data_of(result: dict) -> str:
    """'the published data', or what the result read instead (file names and sha256)."""
    return "; ".join(mismatched(result.get("data"))) or "the published data"


def data_differences(base: dict, new: dict) -> list[str]:
    a, b = data_of(base), data_of(new)
    return [] if a == b else [f"baseline {a}, new {b}"]


def config_differences(base: dict, new: dict) -> list[str]:
    a, b = protocol_of(base), protocol_of(new)
    return [f"{k} {a.get(k)!r} -> {b.get(k)!r}" for k in sorted(a.keys() | b.keys()) if a.get(k) != b.get(k)]


def close(base: float, new: float, rtol: float, atol: float) -> bool:
    if math.isnan(base) or math.isnan(new):
        return math.isnan(base) and math.isnan(new)
    if math.isinf(base) or math.isinf(new):
        return base == new
    return abs(new - base) <= atol + rtol * abs(base)


def metric_rows(task: str, base: dict | None, new: dict | None, rtol: float, atol: float) -> list[dict]:
    if new is None:
        return [_row(task, "(all)", None, None, "missing")]
    if base is None:
        return [_row(task, "(all)", None, None, "added")]
    rows = []
    for metric in [*base["metrics"], *(m for m in new["metrics"] if m not in base["metrics"])]:
        b, n = base["metrics"].get(metric), new["metrics"].get(metric)
        if n is None or b is None:
            rows.append(_row(task, metric, b, n, "missing" if n is None else "added"))
        else:
            rows.append(_row(task, metric, b, n, "ok" if close(b, n, rtol, atol) else "CHANGED"))
    return rows


def _row(task: str, metric: str, base: float | None, new: float | None, status: str) -> dict:
    diff = new - base if base is not None and new is not None else None
    rel = diff / abs(base) if diff is not None and base and math.isfinite(base) else None
    return {"task": task, "metric": metric, "baseline": base, "new": new, "abs diff": diff, "rel diff": rel, "status": status}


def compare_results(baseline: str, new: str, rtol: float = RTOL, atol: float = ATOL, ignore_config: bool = False) -> tuple[str, bool]:
    """The report and whether it failed; a protocol mismatch is a UsageError."""
    base, ours = by_task(baseline, "BASELINE"), by_task(new, "NEW")
    both = sorted(base.keys() & ours.keys())
    data = {t: d for t in both if (d := data_differences(base[t], ours[t]))}
    differ = {t: d for t in both if (d := config_differences(base[t], ours[t]))}
    reasons = [f"the {what} differ ({'; '.join(t + ': ' + ', '.join(d) for t, d in found.items())})"
               for what, found in (("data", data), ("protocols", differ)) if found]
    summary, mismatched = "; ".join(reasons), bool(reasons)
    if mismatched and not ignore_config:
        raise UsageError(f"{summary}: pass --ignore-config to compare anyway")
    rows = [r for t in sorted(base.keys() | ours.keys()) for r in metric_rows(t, base.get(t), ours.get(t), rtol, atol)]
    failed = [r for r in rows if r["status"] in FAILING]
    lines = [f"note: compared anyway: {summary}"] if mismatched else []
    lines.append(_format(rows))
    verdict = "FAIL" if failed else "OK"
    counts = ", ".join(f"{sum(r['status'] == s for r in rows)} {s}" for s in ("ok", "CHANGED", "missing", "added"))
    lines.append(f"\n{verdict}: {counts} (rtol {rtol:g}, atol {atol:g}; baseline {Path(baseline)}, new {Path(new)})")
    return "\n".join(lines), bool(failed)


def _format(rows: list[dict]) -> str:
    import pandas as pd

    specs = {"baseline": ".10g", "new": ".10g", "abs diff": "+.3g", "rel diff": "+.3g"}
    shown = [{k: ("–" if v is None else format(v, specs[k])) if k in specs else v for k, v in r.items()} for r in rows]
    return pd.DataFrame(shown).to_markdown(index=False, disable_numparse=True)


def older_defaults(options) -> tuple[dict, dict]:
    """(data, protocol) values a result written before these options existed ran with: the
    paper preset, and each option's ``absent_means`` (its default unless it declares one)."""
    data = {"preset": "paper", **{opt.name: opt.absent_means for opt in options if opt.absent_means is not DEFAULT}}
    return data, recorded_values(options, {})
