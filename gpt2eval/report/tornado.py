"""Tornado chart of a sensitivity summary (``gpt2eval sensitivity``, ``gpt2eval plot``).

One panel per Table 3 metric of the task. Each bar is one choice set to one value, drawn
from the base run's number (the vertical line) to the variant's, longest swing on top;
the bar is labelled with the variant's number and its difference. The paper's number for
the model's size is a dashed line, or, when it lies far outside the bars (a tiny test
model), an arrow at the edge with its value, so the bars stay readable.
"""
from __future__ import annotations

from pathlib import PurePath

from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from gpt2eval.report.sensitivity import label, summarize

BASE, UP, DOWN, PAPER = "#4d4d4d", "#d95f02", "#1b9e77", "#1b9e77"
LOWER_IS_BETTER = ("perplexity", "bits_per", "bpb", "bpc")


def _better_if_lower(metric: str) -> bool:
    return any(k in metric for k in LOWER_IS_BETTER)


def tornado_figure(summary: dict) -> Figure:
    metrics = list(dict.fromkeys(r["metric"] for r in summary["rows"]))
    panels = {m: sorted((r for r in summary["rows"] if r["metric"] == m and r["choice"] != "base"),
                        key=lambda r: abs(r["diff"])) for m in metrics}
    heights = [max(len(panels[m]), 2) * 0.5 + 1.3 for m in metrics]
    fig = Figure(figsize=(10, sum(heights) + 0.8), layout="constrained")
    axes = fig.subplots(len(metrics), 1, squeeze=False, gridspec_kw={"height_ratios": heights})[:, 0]
    limit = f"; --limit {summary['limit']}: not comparable to the paper" if summary.get("limit") else ""
    model = PurePath(summary["model"]).name or summary["model"]
    fig.suptitle(f"{summary['task']}: what each protocol choice is worth\n{model}, base run = preset "
                 f"{summary['preset']}, one choice changed per bar{limit}", fontsize=11)
    for ax, metric in zip(axes, metrics):
        _panel(ax, metric, panels[metric], next(r["result"] for r in summary["rows"] if r["metric"] == metric and r["choice"] == "base"),
               (summary.get("paper") or {}).get(metric), summary.get("paper_model"))
    return fig


def _panel(ax, metric: str, rows: list[dict], base: float, paper: float | None, paper_model: str | None) -> None:
    lower = _better_if_lower(metric)
    names = [label(r["choice"], r["value"]) if r["choice"] != "base" else "base" for r in rows]
    for y, r in enumerate(rows):
        better = (r["diff"] < 0) == lower
        ax.barh(y, r["diff"], left=base, color=DOWN if better else UP, height=0.6)
        rel = f", {r['diff'] / base:+.1%}" if base else ""
        ax.annotate(f"{_num(r['result'])} ({'+' if r['diff'] >= 0 else '-'}{_num(abs(r['diff']))}{rel})", (base + r["diff"], y), xytext=(4 if r["diff"] >= 0 else -4, 0),
                    textcoords="offset points", ha="left" if r["diff"] >= 0 else "right", va="center", fontsize=8)
    ax.axvline(base, color=BASE, lw=1.2)
    ax.set_yticks(range(len(rows)), names, fontsize=9)
    ax.set_ylim(-0.7, max(len(rows), 1) - 0.3)
    ends = [base] + [base + r["diff"] for r in rows]
    lo, hi = min(ends), max(ends)
    span = (hi - lo) or abs(base) * 0.01 or 1.0
    ax.set_xlim(lo - 0.5 * span, hi + 0.5 * span)  # room for the labels
    paper_note = ""
    if paper is not None:
        text = f"paper {paper_model}: {paper:g}"
        if lo - 3 * span <= paper <= hi + 3 * span:
            ax.axvline(paper, color=PAPER, ls="--", lw=1.2, label=text)
            ax.set_xlim(min(ax.get_xlim()[0], paper - 0.1 * span), max(ax.get_xlim()[1], paper + 0.1 * span))
            ax.legend(loc="lower right", fontsize=8)
        else:
            paper_note = f"; {text}, off the scale to the {'left' if paper < lo else 'right'}"
    if not any(r["diff"] for r in rows):
        ax.text(0.5, 0.5, "no choice moves this number here", transform=ax.transAxes, ha="center", va="center",
                fontsize=9, color=BASE, bbox={"facecolor": "white", "edgecolor": "none"})
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: _num(v)))
    direction = "lower is better" if lower else "higher is better"
    ax.set_xlabel(f"{metric.replace('_', ' ')} ({direction}); green = better, orange = worse than the base run", fontsize=9)
    ax.set_title(f"{metric.replace('_', ' ')}: base run {_num(base)} (vertical line){paper_note}", fontsize=10, color="black")
    ax.grid(axis="x", alpha=0.3)


def _num(v: float) -> str:
    """Readable numbers on any scale: 1,114,686 / 35.13 / 0.4599."""
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    return f"{v:.2f}" if abs(v) >= 10 else f"{v:.4g}"


def sensitivity_figures(results: list[dict]):
    """(name, figure) per (model, task) of the sensitivity runs among ``results``."""
    runs = [r for r in results if (r.get("sweep") or {}).get("parameter") == "sensitivity"]
    groups: dict = {}
    for r in sorted(runs, key=lambda r: r.get("created_at", "")):
        groups.setdefault((r["model"]["name"], r["task"]), {})[(r["sweep"]["choice"], str(r["sweep"]["value"]))] = r
    for (model, task), by_variant in sorted(groups.items()):
        base = by_variant.pop((None, str(None)), None) or next((r for k, r in by_variant.items() if k[0] is None), None)
        if base is None:
            continue
        yield model, task, tornado_figure(summarize([base, *by_variant.values()]))
