"""Sensitivity summaries from result files: one row per variant, as a table and a tornado.

``gpt2eval sensitivity`` writes one result per variant (``"sweep": {"parameter":
"sensitivity", ...}``); everything here reads those results alone, so ``gpt2eval plot``
can redraw a summary without rerunning anything.
"""
from __future__ import annotations


def label(option: str, value) -> str:
    if option == "eos_prefix":
        return "--eos-prefix" if value else "--no-eos-prefix"
    return f"--{option.replace('_', '-')} {value}"


def metrics_of(task: str, headline: str) -> list[str]:
    """The task's Table 3 metrics (LAMBADA: perplexity and accuracy), else its headline."""
    from gpt2eval.report.paper import columns

    return [c["metric"] for c in columns() if c["task"] == task] or [headline]


def summarize(runs: list[dict], paper_model: str | None = None) -> dict:
    """Rows of choice, value, metric, value, difference from the base run, distance to the paper."""
    from gpt2eval.report.paper import columns, paper_value
    from gpt2eval.report.table import NEAREST, paper_model_for

    base = runs[0]
    task, model = base["task"], base["model"]["name"]
    # table.SIZE_RULE, as `gpt2eval table` and the figures compare this model
    versus = paper_model_for(model, paper_model or NEAREST, base["model"].get("n_parameters"))
    scale = {c["metric"]: (100.0 if c["unit"] == "%" else 1.0) for c in columns() if c["task"] == task}
    rows = []
    for metric in metrics_of(task, base["headline"]):
        k = scale.get(metric, 1.0)
        paper = paper_value(task, versus, metric) if versus else None
        ref = base["metrics"][metric] * k
        for r in runs:
            value = r["metrics"][metric] * k
            rows.append({
                "choice": r["sweep"]["choice"] or "base", "value": r["sweep"]["value"] if r["sweep"]["choice"] else base["sweep"]["preset"],
                "metric": metric, "result": value, "diff": value - ref,
                "to_paper": None if paper is None else value - paper,
            })
    return {"task": task, "model": model, "preset": base["sweep"]["preset"], "paper_model": versus,
            "paper": {m: paper_value(task, versus, m) if versus else None for m in metrics_of(task, base["headline"])},
            "limit": base["config"]["data"].get("limit"), "rows": rows}


def markdown(summary: dict) -> str:
    """The summary as a Markdown table, sorted by the size of the swing within each metric."""
    head = (f"Sensitivity of {summary['task']} for {summary['model']} (base: preset {summary['preset']}; "
            f"paper: {summary['paper_model'] or '-'}{'; --limit ' + str(summary['limit']) if summary['limit'] else ''})\n\n")
    lines = ["| choice | value | metric | result | Δ vs base | Δ vs paper |", "|---|---|---|---:|---:|---:|"]
    order = sorted(summary["rows"], key=lambda r: (r["metric"], r["choice"] != "base", -abs(r["diff"])))
    for r in order:
        paper = "–" if r["to_paper"] is None else f"{r['to_paper']:+.4g}"
        lines.append(f"| {r['choice']} | {r['value']} | {r['metric']} | {r['result']:.4f} | {r['diff']:+.4g} | {paper} |")
    return head + "\n".join(lines) + "\n"
