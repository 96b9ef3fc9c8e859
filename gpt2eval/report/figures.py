"""Figures drawn from result JSON files and the paper's Table 3 CSV; nothing is rerun.

- ``scaling``: each Table 3 column against model size (log x), ours vs the paper's, one
  small panel per column, as the paper's Figure 1 draws its scaling view. Ours sit at the
  counted ``model.n_parameters`` (124M for gpt2); the paper's at its printed 117M/.../1542M.
- ``bars-<model>``: one model's numbers next to the paper's for the same size (the rule of
  ``table.SIZE_RULE``: the size the model's name gives, else the nearest in parameters),
  one panel per column, since perplexities, accuracies and bits live on different scales.
- ``stride-<model>``: a stride sweep, the headline metric and the cost per stride (tokens
  run through the model, not wall-clock time, which depends on the machine).
- ``tornado-<model>-<task>``: a ``gpt2eval sensitivity`` run (``gpt2eval.report.tornado``).

Error bars are the results' ``ci95`` intervals where a result has them. Figures are made
with ``matplotlib.figure.Figure`` (no pyplot), so no display or global backend is needed.
"""
from __future__ import annotations

import math
import sys
from pathlib import Path

from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FixedLocator, FuncFormatter, LogLocator, NullFormatter, NullLocator

from gpt2eval.report import paper
from gpt2eval.errors import UsageError
from gpt2eval.results.files import model_slug
from gpt2eval.report.table import load_results as load_result_files
from gpt2eval.report.table import NEAREST, paper_model_for

OURS, PAPER, SOTA = "#d95f02", "#1b9e77", "#7f7f7f"
YLABEL = {"": "perplexity", "%": "accuracy (%)", "BPB": "bits per byte", "BPC": "bits per character"}
ARROW = {"lower": "\u2193", "higher": "\u2191"}


def load_results(paths) -> list[dict]:
    """Result dicts (sweeps included) from files and folders, each with its ``_path``."""
    return [{**result, "_path": str(path)} for path, result in load_result_files(paths, sweeps=True)]


paper_sizes = paper.sizes


def paper_model(result: dict) -> str | None:
    """The paper size a result is compared with, by ``table.SIZE_RULE`` (as `gpt2eval table`)."""
    return paper_model_for(result["model"]["name"], NEAREST, result["model"].get("n_parameters"))


def _how(result: dict) -> str:
    named = paper_model_for(result["model"]["name"], None) is not None
    return "same size" if named else "nearest size in parameters; not the same model"


def column_value(result: dict, column: dict):
    """(value, (lo, hi) or None) of a Table 3 column in the paper's units, or None."""
    value = result["metrics"].get(column["metric"])
    if value is None or not math.isfinite(value):
        return None
    scale = 100.0 if column["unit"] == "%" else 1.0
    ci = (result.get("ci95") or {}).get(column["metric"])
    return value * scale, (tuple(x * scale for x in ci) if ci else None)


def table_results(results: list[dict]) -> list[dict]:
    """One result per (model, task), sweeps left out; of duplicates the newest wins."""
    chosen: dict = {}
    for r in sorted((r for r in results if "sweep" not in r), key=lambda r: r.get("created_at", "")):
        key = (r["model"]["name"], r["task"])
        if key in chosen:
            print(f"note: {r['task']} of {key[0]}: {r['_path']} replaces {chosen[key]['_path']} (newer)", file=sys.stderr)
        chosen[key] = r
    return list(chosen.values())


def _grid(n: int, title: str, width: float = 3.1, height: float = 2.9):
    cols = min(n, 5)
    rows = math.ceil(n / cols)
    fig = Figure(figsize=(width * cols, height * rows + 0.6), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax in axes[n:]:  # an empty last row slot
        ax.set_visible(False)
    fig.suptitle(title, fontsize=12)
    return fig, axes[:n]


def _errorbar(ax, x, ys, cis, **kw):
    """Points with ci95 bars where known (NaN-free lists of the same length)."""
    lo = [y - ci[0] if ci else 0.0 for y, ci in zip(ys, cis)]
    hi = [ci[1] - y if ci else 0.0 for y, ci in zip(ys, cis)]
    ax.errorbar(x, ys, yerr=[lo, hi] if any(cis) else None, capsize=3, **kw)


def _y_scale(ax, values) -> None:
    """Log y when values span more than 8x (a random model next to GPT-2); compact numbers
    (``1M``, ``10^14``), never "100,000,000,000,000" running into the panel beside."""
    values = [v for v in values if v and v > 0 and math.isfinite(v)]
    if values and max(values) >= 1000:
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: _tick(v)))
    if values and max(values) / min(values) > 8:
        ax.set_yscale("log")
        decades = math.log10(max(values) / min(values))
        ax.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0) if decades < 2 else (1.0,), numticks=8))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: _tick(v)))
        ax.yaxis.set_minor_formatter(NullFormatter())


def _tick(v: float) -> str:
    """A short axis label: 2.5, 40, 5k, 20M, and powers of ten from 10^9 on as 10^n."""
    if not math.isfinite(v) or v <= 0:
        return _number(v)
    exponent = math.floor(math.log10(v) + 1e-9)
    if exponent >= 9:
        mantissa = v / 10**exponent
        return f"$10^{{{exponent}}}$" if abs(mantissa - 1) < 1e-6 else f"${mantissa:g}{{\\times}}10^{{{exponent}}}$"
    for scale, suffix in ((1e6, "M"), (1e3, "k")):
        if v >= scale:
            return f"{v / scale:.3g}{suffix}"
    return _number(v).removesuffix(".0").removesuffix(".00")


def _param_label(n: float) -> str:
    return f"{n / 1e6:.0f}M" if n >= 1e6 else f"{n / 1e3:.0f}k"


def _number(v: float) -> str:
    """A value printed on a bar or point: 3 significant figures, ``5.0e12`` when huge."""
    if not math.isfinite(v):
        return ""
    if abs(v) >= 1e6:
        mantissa, exponent = f"{v:.1e}".split("e")
        return f"{mantissa}e{int(exponent)}"
    return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.2f}" if abs(v) < 10 else f"{v:.1f}"


def _limited(results: list[dict]) -> str | None:
    """The footnote for points that are not the paper's test sets: --limit, other data, edited sums."""
    from gpt2eval.report.checks import sums_disagree, unpublished_data

    limited = sorted({r["task"] for r in results if r["config"]["data"].get("limit")})
    other = sorted({r["task"] for r in results if unpublished_data(r)})
    edited = sorted({r["task"] for r in results if sums_disagree(r)})
    notes = [f"--limit runs (not comparable to the paper): {', '.join(limited)}" if limited else "",
             f"not the published data: {', '.join(other)}" if other else "",
             f"metrics that their stored sums do not give (edited?): {', '.join(edited)}" if edited else ""]
    return "; ".join(n for n in notes if n) or None


def _footnote(fig, results: list[dict]) -> None:
    if note := _limited(results):
        fig.supxlabel(note, fontsize=8, color="firebrick")


def scaling_figure(results: list[dict]) -> Figure:
    """Figure-1 style: each Table 3 column against parameters, ours and the paper's."""
    sizes = paper_sizes()
    columns = paper.columns()
    fig, axes = _grid(len(columns), "Zero-shot Table 3 metrics against model size: ours vs the GPT-2 paper "
                      "(\u2193 lower is better, \u2191 higher is better)")
    results = sorted(results, key=lambda r: r["model"]["n_parameters"])
    # One x-axis for all panels: the paper's sizes, plus ours where far from any of them.
    ours_sizes = {r["model"]["n_parameters"] for r in results}
    ticks = sorted([*sizes.values(), *(n for n in ours_sizes if min(abs(math.log(n / s)) for s in sizes.values()) > 0.4)])
    for ax, col in zip(axes, columns):
        rows = {r["model"]: r["value"] for r in paper.table3() if r["column"] == col["column"]}
        ax.plot(list(sizes.values()), [rows[m] for m in sizes], "o-", color=PAPER)
        ax.axhline(rows["prior-sota"], color=SOTA, ls=":", lw=1.2)
        ours = [(r["model"]["n_parameters"], column_value(r, col)) for r in results if r["task"] == col["task"]]
        ours = [(n, v) for n, v in ours if v is not None]
        if ours:
            _errorbar(ax, [n for n, _ in ours], [v for _, (v, _) in ours], [ci for _, (_, ci) in ours], fmt="s--", color=OURS)
        else:
            ax.text(0.03, 0.03, "ours: no result", transform=ax.transAxes, fontsize=8, color=OURS)
        ax.set_xscale("log")
        ax.set_xlim(ticks[0] / 1.5, ticks[-1] * 1.5)
        ax.xaxis.set_major_locator(FixedLocator(ticks))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda n, _: _param_label(n)))
        ax.xaxis.set_minor_locator(NullLocator())
        ax.tick_params(axis="x", labelsize=7, rotation=45 if len(ticks) > len(sizes) else 0)
        _y_scale(ax, list(rows.values()) + [v for _, (v, _) in ours])
        ax.set_title(f"{col['column']} {ARROW[col['direction']]}", fontsize=10)
        ax.set_xlabel("parameters", fontsize=8)
        ax.set_ylabel(YLABEL[col["unit"]], fontsize=8)
        ax.grid(alpha=0.3)
    handles = [Line2D([], [], color=PAPER, marker="o"), Line2D([], [], color=SOTA, ls=":"),
               Line2D([], [], color=OURS, marker="s", ls="--")]
    legend = fig.legend(handles, ["paper (GPT-2)", "prior SOTA", "ours"], loc="outside lower center", ncols=3,
                        frameon=False, title=_limited(results), title_fontsize=8)
    legend.get_title().set_color("firebrick")
    return fig


def bars_figure(results: list[dict], model: str) -> Figure:
    """One model's Table 3 numbers beside the paper's for the same (or nearest) size."""
    mine = [r for r in results if r["model"]["name"] == model]
    n_params = mine[0]["model"]["n_parameters"]
    ref, how = paper_model(mine[0]), _how(mine[0])
    columns = paper.columns()
    title = f"{model} ({_param_label(n_params)} parameters) vs the paper's {ref} ({how})"
    fig, axes = _grid(len(columns), title, width=2.6, height=2.8)
    for ax, col in zip(axes, columns):
        rows = {r["model"]: r["value"] for r in paper.table3() if r["column"] == col["column"]}
        ours = next((column_value(r, col) for r in mine if r["task"] == col["task"]), None)
        values = [ours[0] if ours else math.nan, rows[ref], rows["prior-sota"]]
        ax.bar(range(3), values, color=[OURS, PAPER, SOTA], width=0.65)
        tops = list(values)
        if ours and ours[1]:
            lo, hi = ours[1]
            ax.errorbar([0], [ours[0]], yerr=[[ours[0] - lo], [hi - ours[0]]], color="black", capsize=3)
            tops[0] = max(hi, ours[0])
        for x, (v, top) in enumerate(zip(values, tops)):
            ax.annotate(_number(v), (x, top), textcoords="offset points", xytext=(0, 2), ha="center", va="bottom", fontsize=7)
        if ours is None:
            ax.text(0, 0.03, "not run", transform=ax.get_xaxis_transform(), rotation=90, ha="center", va="bottom", fontsize=8, color=OURS)
        ax.set_xticks(range(3), ["ours", f"paper\n{ref}", "prior\nSOTA"])
        ax.set_xlim(-0.6, 2.6)
        _y_scale(ax, values)
        ax.margins(y=0.15)
        ax.set_title(f"{col['column']} {ARROW[col['direction']]}", fontsize=10)
        ax.set_ylabel(YLABEL[col["unit"]], fontsize=8)
        ax.tick_params(axis="x", labelsize=7)
        ax.grid(axis="y", alpha=0.3)
    _footnote(fig, mine)
    return fig


def forward_tokens(result: dict) -> int | None:
    """Tokens fed through the model by a stream run: the sum of its windows' lengths.

    The cost of a stride, free of the machine's noise: about ``n_tokens * L / S``. The
    stream is the scored tokens plus one (the <|endoftext|> prefix, or the unscored first).
    """
    from gpt2eval.engine.windows import rolling_windows

    n_tokens = (result.get("totals") or {}).get("n_tokens")
    window = result["config"]["window"]
    if not n_tokens:
        return None
    last = window.get("last_window", "right")  # older results: right-aligned
    return sum(w.end - w.start for w in rolling_windows(n_tokens + 1, window["max_length"], window["stride"], last))


def stride_figure(results: list[dict]) -> Figure:
    """Per task: the headline metric and the tokens run through the model against the stride."""
    tasks = sorted({r["task"] for r in results})
    model = results[0]["model"]["name"]
    fig = Figure(figsize=(9, 3.4 * len(tasks) + 0.4), layout="constrained")
    axes = fig.subplots(len(tasks), 2, squeeze=False)
    fig.suptitle(f"Stride sweep, {model}: window L = {results[0]['config']['window']['max_length']} tokens", fontsize=12)
    for (ax, ax_time), task in zip(axes, tasks):
        runs = sorted((r for r in results if r["task"] == task), key=lambda r: r["config"]["window"]["stride"])
        strides = [r["config"]["window"]["stride"] for r in runs]
        metric = runs[0]["headline"]
        values = [r["metrics"][metric] for r in runs]
        cis = [tuple((r.get("ci95") or {}).get(metric) or ()) or None for r in runs]
        _errorbar(ax, strides, values, cis, fmt="o-", color=OURS, label="ours")
        for s, v in zip(strides, values):
            ax.annotate(_number(v), (s, v), textcoords="offset points", xytext=(6, 4), ha="left", fontsize=7)
        ref = paper_model(runs[0])
        paper_value = paper.paper_value(task, ref, metric) if ref else None
        if paper_value is not None:
            ax.axhline(paper_value, color=PAPER, ls="--", lw=1.2, label=f"paper ({ref}, {_how(runs[0]).split(';')[0]})")
        ax.legend(fontsize=8)
        ax.set_ylabel(metric.replace("_", " "), fontsize=9)
        ax.set_title(f"{task}: {metric.replace('_', ' ')} (lower is better)", fontsize=10)
        cost = [forward_tokens(r) for r in runs]
        if all(cost):
            ax_time.plot(strides, cost, "o-", color=SOTA)
            for s, c in zip(strides, cost):
                ax_time.annotate(f"{c / runs[0]['totals']['n_tokens']:.3g}\u00d7", (s, c), textcoords="offset points",
                                 xytext=(6, 4), ha="left", fontsize=7)
            ax_time.set_yscale("log")  # the cost doubles with each halving of S: a straight line
            ax_time.yaxis.set_major_locator(FixedLocator(cost))
            ax_time.yaxis.set_major_formatter(FuncFormatter(lambda v, _: _tick(v)))
            ax_time.yaxis.set_minor_locator(NullLocator())
            ax_time.margins(y=0.15)
        else:
            ax_time.text(0.5, 0.5, "no token counts in these results", transform=ax_time.transAxes, ha="center")
        ax_time.set_ylabel("tokens through the model", fontsize=9)
        ax_time.set_title(f"{task}: cost, \u2248 scored tokens \u00d7 L/S", fontsize=10)
        for a in (ax, ax_time):
            a.set_xlim(min(strides) / 1.5, max(strides) * 1.5)  # room for the labels right of the points
            a.set_xscale("log", base=2)
            a.xaxis.set_major_locator(FixedLocator(strides))
            a.xaxis.set_major_formatter(FuncFormatter(lambda s, _: f"{s:.0f}"))
            a.xaxis.set_minor_locator(NullLocator())
            a.set_xlabel("stride S (tokens); each token sees \u2265 L\u2212S tokens of context", fontsize=8)
            a.grid(alpha=0.3)
        _y_scale(ax, values)
        ax.margins(y=0.2)
    _footnote(fig, results)
    return fig


def save(fig: Figure, path: Path, formats=()) -> list[Path]:
    """``path`` (.png, 150 dpi) and the same name in each extra format (pdf, svg)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    written = [path.with_suffix(suffix) for suffix in (".png", *(f".{f}" for f in formats))]
    for out in written:
        fig.savefig(out, dpi=150)
    return written


def plot_all(paths, output: Path, formats=()) -> list[Path]:
    """Every figure the results allow, under ``output``; the paths written."""
    results = load_results(paths)
    if not results:
        raise UsageError(f"no result files in {', '.join(map(str, paths))}: run `gpt2eval run` first")
    table = table_results(results)
    written = []
    if table:
        written += save(scaling_figure(table), output / "scaling.png", formats)
        for model in sorted({r["model"]["name"] for r in table}):
            written += save(bars_figure(table, model), output / f"bars-{model_slug(model)}.png", formats)
    from gpt2eval.report.tornado import sensitivity_figures  # `gpt2eval sensitivity` runs: one tornado per model and task

    for model, task, fig in sensitivity_figures(results):
        written += save(fig, output / f"tornado-{model_slug(model)}-{task}.png", formats)
    sweeps = [r for r in results if (r.get("sweep") or {}).get("parameter") == "stride"]
    for model in sorted({r["model"]["name"] for r in sweeps}):
        runs = [r for r in sweeps if r["model"]["name"] == model]
        written += save(stride_figure(runs), output / f"stride-{model_slug(model)}.png", formats)
    return written
