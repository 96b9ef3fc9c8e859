"""What a number in a report must carry a mark for, read from its result file alone.

- ``unpublished_data``: the data are not the published test set: a sha256 that differs,
  or, where there is no checksum to check (CBT publishes none), a count of documents or
  units other than the published one (a 6-question test fixture is not CBT's 2,000).
- ``sums_disagree``: a metric that the stored per-document sums do not give back (the
  file was edited by hand, or damaged): ``compare`` would catch it against a baseline,
  ``table`` marks it on its own.

``table`` puts both into a cell's † footnote, ``plot`` into a figure's footnote.
"""
from __future__ import annotations

from gpt2eval.data.files import mismatched
from gpt2eval.errors import UsageError


def unpublished_data(result: dict) -> str | None:
    """Why a result's data are not the published test set, or None.

    A sha256 that differs from the published one; else, where no checksum could be
    checked (CBT has none published), a document count other than the published one
    (a test fixture of 6 questions is not CBT's 2,000). A ``--limit`` that cut the data is
    said by ``protocol_differences`` itself.
    """
    from gpt2eval.results.bootstrap import task_for_result

    data = result.get("data") or {}
    if mismatched(data):
        return "data differ from the published file (sha256 mismatch)"
    checks = [f.get("checksum") for f in data.get("files", []) if f.get("role") != "exclude-overlap"]
    checks += [data["hub"].get("checksum")] if data.get("hub") else []
    limit = result["config"]["data"].get("limit")
    if all(c == "ok" for c in checks) or (limit is not None and result.get("n_documents", 0) >= limit):
        return None
    try:
        task = task_for_result(result)
    except (UsageError, TypeError, ValueError):
        return None
    totals = result.get("totals") or {}
    count = totals.get("n_units", totals.get(f"n_{task.counts}s"))
    if task.denominator is None or count is None or count == task.denominator:
        return None
    return f"data: {count:,} {task.counts}s, not the published {task.denominator:,} (no checksum to verify them)"


def sums_disagree(result: dict) -> set[str]:
    """Metrics (or ``"totals"``) that the stored per-document sums do not give back: a
    result edited by hand or damaged. Empty when they agree or the result has no sums."""
    from gpt2eval.results.bootstrap import _same, task_for_result

    per, totals = result.get("per_document"), result.get("totals")
    if not isinstance(per, dict) or not isinstance(totals, dict):
        return set()
    bad = set()
    try:
        for key, total in totals.items():
            if isinstance(per.get(key), list) and not _same(float(sum(per[key])), float(total)):
                bad.add("totals")
        again = task_for_result(result).metrics(totals)
    except (UsageError, TypeError, ValueError, KeyError, ZeroDivisionError):
        return bad or {"totals"}
    for name, value in result["metrics"].items():
        if name in again and not (isinstance(value, (int, float)) and _same(float(again[name]), float(value))):
            bad.add(name)
    return bad


EDITED = "the metric is not what the stored per-document sums give (file edited or damaged)"
