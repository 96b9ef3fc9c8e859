"""The report's first page, rendered here: Table 3, the figures, tornado charts, overlap.

Everything is what the other report commands show, in HTML: the table is ``gpt2eval
table``'s (the same rows, ± intervals and † footnotes), the figures are ``gpt2eval plot``'s
drawn as inline SVG (text kept as text), and the overlap table is ``gpt2eval overlap``'s.
"""
from __future__ import annotations

import html
import io
import json
import re
from pathlib import Path

from gpt2eval.report.table import LEGEND, tidy, wide


def table3(results: list) -> str:
    """``gpt2eval table``'s Markdown as an HTML table: ours, paper, Δ per model, † notes below."""
    frame, notes = wide(tidy(results))
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    rows = []
    for _, row in frame.iterrows():
        kind = row.iloc[1]
        cells = []
        for value in row:
            text = html.escape(str(value))
            css = "better" if text.endswith(" better") else "worse" if text.endswith(" worse") else ""
            cells.append(f'<td class="{css}">{text}</td>' if css else f"<td>{text}</td>")
        rows.append(f'<tr class="{"ours" if kind == "ours" else "ref"}">{"".join(cells)}</tr>')
    foot = "".join(f"<p class=note>{html.escape(n)}</p>" for n in [*notes, LEGEND])
    return f'<div class=scroll><table class="t3"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table></div>{foot}'


def svg(fig) -> str:
    """A matplotlib figure as inline SVG: text stays text, ids are stable across runs."""
    from matplotlib import rc_context

    buf = io.StringIO()
    with rc_context({"svg.fonttype": "none", "svg.hashsalt": "gpt2eval"}):
        fig.savefig(buf, format="svg")
    text = buf.getvalue()
    return text[text.index("<svg") :]


def figures(all_results: list[dict]) -> list[tuple[str, str]]:
    """(caption, svg) of every figure ``gpt2eval plot`` would draw from these results."""
    from gpt2eval.report.figures import bars_figure, scaling_figure, stride_figure, table_results

    out = []
    table = table_results(all_results)
    if table:
        out.append(("Table 3 metrics against model size, ours and the paper's", svg(scaling_figure(table))))
        for model in sorted({r["model"]["name"] for r in table}):
            out.append((f"{model} beside the paper", svg(bars_figure(table, model))))
    sweeps = [r for r in all_results if (r.get("sweep") or {}).get("parameter") == "stride"]
    for model in sorted({r["model"]["name"] for r in sweeps}):
        out.append((f"stride sweep, {model}", svg(stride_figure([r for r in sweeps if r["model"]["name"] == model]))))
    return out


def tornadoes(all_results: list[dict]) -> list[tuple[str, str]]:
    """(caption, svg) per ``gpt2eval sensitivity`` run among the results."""
    from gpt2eval.report.tornado import sensitivity_figures

    return [(f"sensitivity: {task}, {model}", svg(fig)) for model, task, fig in sensitivity_figures(all_results)]


def overlap_files(folders: list[Path]) -> list[tuple[Path, dict]]:
    """Overlap JSONs (``gpt2eval overlap``) under the folders."""
    from gpt2eval.results.overlap import FORMAT

    found = []
    for folder in folders:
        for path in sorted(Path(folder).rglob("*.json")):
            try:
                obj = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, ValueError):
                continue
            if isinstance(obj, dict) and obj.get("format") == FORMAT:
                found.append((path, obj))
    return found


def table6(path: Path, result: dict) -> str:
    """One overlap result as ``gpt2eval overlap`` prints it (Table 6 style), in HTML."""
    from gpt2eval.report.table6 import table6_rows

    head, columns, rows, notes = table6_rows(result)
    th = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
    lines = "".join(f"<p class=note>{html.escape(n)}</p>" for n in [*head.split("\n"), *notes, f"file: {path}"])
    return f"<div class=scroll><table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table></div>{lines}"


def slug(text: str) -> str:
    return re.sub(r"[^\w.-]+", "-", text).strip("-").lower() or "x"
