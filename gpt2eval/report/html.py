"""``gpt2eval report``: one self-contained HTML file from a results folder (and another to compare).

The page needs no network when it is read (inline CSS and script, figures as inline SVG),
so it can be mailed or attached to a paper's supplement. It holds:

    Summary    Table 3 as `gpt2eval table` shows it (± intervals, † footnotes), the figures
               of `gpt2eval plot`, tornado charts of `gpt2eval sensitivity` runs and the
               Table 6 overlap of `gpt2eval overlap` runs, where the folder has them
    per task   the run(s); the per-token NLL distribution; loss by context length; the
               documents ranked by loss (or by B - A); any document's text with each token
               shaded by its NLL (hover: token, log-prob, context); with --compare, Δ per
               token where both runs tokenize a document alike, else Δ per word of the
               original text, and which words carry the difference over the whole task

Tasks match across the two folders by task name (and model name, when a folder holds
several). Token views need ``<result>.tokens.parquet`` (``run --save-tokens``); without
it a task shows its per-document sums only. The template and script are package data
(``gpt2eval/report/assets``); this module only fills them in.
"""
from __future__ import annotations

import json
import re
from importlib import resources
from pathlib import Path

from gpt2eval import __version__
from gpt2eval.errors import UsageError
from gpt2eval.report import summary
from gpt2eval.report.payload import MAX_ROWS, run_payload


def build_report(results_dir: str, compare_dir: str | None = None, max_rows: int = MAX_ROWS, figures: bool = True) -> str:
    """The page's HTML (``figures``: draw the matplotlib figures, the slow part)."""
    from gpt2eval.report.figures import load_results, table_results
    from gpt2eval.report.table import load_results as table_files

    runs_a = load_results([results_dir])
    runs_b = load_results([compare_dir]) if compare_dir else []
    chosen_a = table_results(runs_a)
    if not runs_a:
        raise UsageError(f"no gpt2eval result files in {results_dir}: run `gpt2eval run` (or reproduce) first")
    if compare_dir and not table_results(runs_b):
        raise UsageError(f"--compare {compare_dir}: no gpt2eval result files there (sweeps aside)")
    label_a, label_b = labels(results_dir, compare_dir)
    tasks = [task_payload(r, pair(r, table_results(runs_b)), label_a, label_b, max_rows, chosen_a) for r in order(chosen_a)]
    page = summary_html(results_dir, compare_dir, table_files, runs_a if figures else None, label_a, label_b, tasks)
    data = {"tasks": tasks, "units": units({t["task"] for t in tasks})}
    title = f"gpt2eval report: {label_a}" + (f" vs {label_b}" if compare_dir else "")
    parts = {
        "title": _esc(title), "generator": f"gpt2eval {__version__}", "css": asset("report.css"), "js": asset("report.js"),
        "subtitle": _esc(f"{results_dir}" + (f" (A) compared with {compare_dir} (B)" if compare_dir else "")
                         + f" · gpt2eval {__version__}"),
        "nav": "".join(f'<a href="#task={t["key"]}" data-key="{_esc(t["key"])}">{_esc(t["title"])}'
                       f'<span class="dot{" has" if t["tokens"] else ""}"></span></a>' for t in tasks),
        "summary": page,
        # "<" escaped inside strings so that no text in the data can close the script element.
        "data": json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False).replace("<", "\\u003c"),
    }
    return re.sub(r"\{\{(\w+)\}\}", lambda m: parts[m.group(1)], asset("template.html"))


def asset(name: str) -> str:
    return resources.files("gpt2eval.report").joinpath("assets", name).read_text(encoding="utf-8")


def labels(a: str, b: str | None) -> tuple[str, str]:
    """Short names for the two folders: their names, or their paths when the names agree."""
    name_a = Path(a).resolve().name or str(a)
    name_b = (Path(b).resolve().name or str(b)) if b else ""
    return (str(a), str(b)) if b and name_a == name_b else (name_a, name_b)


def order(results: list[dict]) -> list[dict]:
    """Table 3's column order first, then the other tasks by name."""
    from gpt2eval.report.paper import columns

    rank = {task: k for k, task in enumerate(dict.fromkeys(c["task"] for c in columns()))}
    return sorted(results, key=lambda r: (r["model"]["n_parameters"], r["model"]["name"], rank.get(r["task"], len(rank)), r["task"]))


def pair(result: dict, others: list[dict]) -> dict | None:
    """The other folder's result of the same task: of the same model when there are several."""
    same = [r for r in others if r["task"] == result["task"]]
    exact = [r for r in same if r["model"]["name"] == result["model"]["name"]]
    return exact[0] if len(exact) == 1 else same[0] if len(same) == 1 else None


def task_payload(a: dict, b: dict | None, label_a: str, label_b: str, max_rows: int, everything: list[dict]) -> dict:
    several = len({r["model"]["name"] for r in everything}) > 1
    title = f"{Path(a['model']['name']).name} · {a['task']}" if several else a["task"]
    runs = [run_payload(Path(a["_path"]), a, label_a, max_rows)]
    if b is not None:
        runs.append(run_payload(Path(b["_path"]), b, label_b, max_rows))
        dedupe_originals(*runs)
    return {"key": summary.slug(title), "title": title, "task": a["task"], "runs": runs, "tokens": runs[0]["tok"] is not None}


def dedupe_originals(a: dict, b: dict) -> None:
    """B's original texts are A's (same documents) unless they differ: embed them once."""
    ta, tb = a.get("tok") or {}, b.get("tok") or {}
    if "originals" in ta and ta.get("originals") == tb.get("originals", [])[: len(ta["originals"])] and len(tb.get("originals", [])) <= len(ta["originals"]):
        del tb["originals"]


def units(tasks: set[str]) -> dict:
    """What each task's denominator counts, for column heads ("NLL/word")."""
    from gpt2eval.registry import get_task_class

    out = {}
    for name in tasks:
        try:
            out[name] = get_task_class(name).counts
        except UsageError:  # a task no longer registered: its results still read
            out[name] = "unit"
    return out


def summary_html(results_dir, compare_dir, table_files, runs_a, label_a, label_b, tasks) -> str:
    table_a = table_files([results_dir])
    parts = [f"<h2>Table 3: ours ({_esc(label_a)}) beside the GPT-2 paper</h2>",
             summary.table3(table_a) if table_a else "<p class=note>No results here but sweeps (sensitivity, stride).</p>"]
    if compare_dir:
        parts += [f"<h2>Table 3: B ({_esc(label_b)}) beside the GPT-2 paper</h2>", summary.table3(table_files([compare_dir]))]
    parts.append("<h2>Tasks</h2><p class=small>Open a task for its documents and tokens "
                 "(a green dot: per-token rows were saved with <code>--save-tokens</code>).</p><ul>")
    for t in tasks:
        runs = " vs ".join(f"{_esc(r['label'])}: {r['headline']} {_fmt(r['value'])}" for r in t["runs"])
        parts.append(f'<li><a href="#task={t["key"]}">{_esc(t["title"])}</a>: {runs}</li>')
    parts.append("</ul>")
    if runs_a is None:
        parts.append("<p class=note>Figures left out (--no-figures).</p>")
    figures = summary.figures(runs_a) if runs_a is not None else []
    if figures:
        parts.append("<h2>Figures</h2>" + "".join(f"<figure>{svg}<figcaption>{_esc(c)}</figcaption></figure>" for c, svg in figures))
    tornadoes = summary.tornadoes(runs_a) if runs_a is not None else []
    if tornadoes:
        parts.append("<h2>Sensitivity: what each protocol choice is worth</h2>"
                     + "".join(f"<figure>{svg}<figcaption>{_esc(c)}</figcaption></figure>" for c, svg in tornadoes))
    overlaps = summary.overlap_files([Path(results_dir)])
    if overlaps:
        parts.append("<h2>Overlap with training data (Table 6)</h2>" + "".join(summary.table6(p, o) for p, o in overlaps))
    return "\n".join(parts)


def write_report(results_dir: str, compare_dir: str | None, output: Path, max_rows: int = MAX_ROWS, figures: bool = True) -> int:
    """Write the page to ``output`` (atomically); its size in bytes."""
    from gpt2eval.results.atomic import write_text

    text = build_report(results_dir, compare_dir, max_rows, figures)
    write_text(Path(output), text)
    return len(text.encode("utf-8"))


def _esc(text: str) -> str:
    import html

    return html.escape(str(text), quote=True)


def _fmt(value) -> str:
    return "–" if value is None else f"{value:.4g}"
