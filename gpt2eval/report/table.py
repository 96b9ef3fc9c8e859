"""Table 3 from result files: our numbers next to the paper's, with intervals and markers.

Each model gets up to three rows: ``ours`` (value ± half-width of the 95% bootstrap
interval, a †N marker where the protocol differs from the paper's), ``paper <size>``
and ``Δ`` (ours - paper, absolute and relative, then "better" or "worse" by the column's
direction). Which paper row a model is compared with is ``SIZE_RULE``, the one rule
``gpt2eval plot`` uses too: the GPT-2 size the model's name or directory is (``gpt2``,
``openai-community/gpt2-xl``, ``/models/gpt2-large``), otherwise the paper's size nearest
in parameter count (log scale); ``--paper-model`` names one instead (``none``: no paper rows).

A column takes the result of its task; a variant (``wikitext2-raw``, ``lambada-standard``)
fills it only when the task itself is absent, and is marked. Of several results for one
cell the newest (``created_at``) wins, with a note on stderr, as in ``gpt2eval plot``;
stride sweeps (results with a ``sweep`` entry) in folders are left out. Accuracies are shown in %
(the CSV's ``unit``). Missing cells are "–", never 0. Markdown and LaTeX are for reading;
CSV is for machines: one row per (model, column) with each number in its own field.
"""
from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from gpt2eval.errors import UsageError
from gpt2eval.report.paper import columns, paper_value
from gpt2eval.report.checks import EDITED, sums_disagree, unpublished_data
from gpt2eval.report.paper import sizes as paper_sizes

if TYPE_CHECKING:  # pandas loads with the first table, not with `gpt2eval --help`
    import pandas as pd

GPT2_SIZES = ("gpt2", "gpt2-medium", "gpt2-large", "gpt2-xl")
NEAREST = "nearest"
SIZE_RULE = ("paper <size> = the GPT-2 size the model's name gives, else the paper's size nearest "
             "in parameter count")
DASH = "–"
LEGEND = (
    "± = half-width of the 95% bootstrap interval over documents; Δ = ours − paper, "
    "better/worse by the column's direction (PPL, BPB, BPC: lower; ACC in %: higher); "
    + SIZE_RULE + "."
)


def load_results(paths: list[str], sweeps: bool = False) -> list[tuple[Path, dict]]:
    """(path, result) for each result file: named files, or ``**/*.json`` under folders.

    In a folder, JSON that is not a result (a samples log, a config) is skipped, and so are
    stride sweeps (``gpt2eval sweep-stride``) unless ``sweeps``; a named file that is not a
    result is an error.
    """
    out = []
    for given in map(Path, paths):
        for path in sorted(given.rglob("*.json")) if given.is_dir() else [given]:
            result, why = read_result(path)
            if result is None and not given.is_dir():
                raise UsageError(f"{path} is not a gpt2eval result file (JSON with task, metrics, config, model): {why}")
            if result is not None and (sweeps or not (given.is_dir() and "sweep" in result)):
                out.append((path, result))
    return out


# What table, plot and compare read from a result, and the type each must have.
RESULT_FIELDS = (("task", str), ("metrics", dict), ("config", dict), ("config.window", dict), ("config.data", dict),
                 ("model", dict), ("model.name", str), ("model.n_parameters", int))


def read_result(path: Path) -> tuple[dict | None, str]:
    """(result, "") for a result gpt2eval can report on, else (None, why not)."""
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as e:
        return None, f"unreadable ({type(e).__name__})"
    for name, kind in RESULT_FIELDS:
        value = obj
        for key in name.split("."):
            value = value.get(key) if isinstance(value, dict) else None
        if not isinstance(value, kind):
            return None, f"{name} is missing" if value is None else f"{name} is not a {kind.__name__}"
    return obj, ""


def paper_model_for(name: str, fallback: str | None, n_parameters: float | None = None) -> str | None:
    """The GPT-2 size a model's name or directory names, else ``fallback``; a fallback of
    ``"nearest"`` is the paper's size nearest to ``n_parameters`` (log scale): ``SIZE_RULE``."""
    last = name.rstrip("/\\").replace("\\", "/").split("/")[-1].lower()
    if last in GPT2_SIZES:
        return last
    if fallback != NEAREST:
        return fallback
    if not n_parameters:
        return None
    return min(paper_sizes().items(), key=lambda kv: abs(math.log(kv[1] / n_parameters)))[0]


def protocol_differences(result: dict) -> list[str]:
    """What this run did differently from the paper's protocol (gpt2eval's defaults).

    A task option is marked where its declaration says it is a protocol choice and the
    recorded value is not the paper's (``gpt2eval.engine.options``)."""
    from gpt2eval.engine.options import DEFAULT, current_names, recorded_values
    from gpt2eval.registry import get_task_class

    window, data = result["config"]["window"], result["config"]["data"]
    try:
        cls = get_task_class(result["task"])
    except UsageError:
        cls = None
    options = cls.options if cls else ()
    protocol = current_names(options, result["config"].get("protocol", {}))
    values = recorded_values(options, protocol)
    out = []
    if window.get("max_length") != 1024:
        out.append(f"window {window.get('max_length')} tokens (paper 1024)")
    if cls is not None and cls.scores_stream and window.get("stride") != window.get("max_length"):
        out.append(f"stride {window.get('stride')}")
    if cls is not None and cls.scores_stream and window.get("last_window", "right") != "right":
        out.append(f"--last-window {window['last_window']}")
    if window.get("eos_prefix") is False and (cls is None or cls.reads_eos_prefix(values)):
        out.append("no <|endoftext|> prefix")
    if data.get("limit") is not None and result.get("n_documents", 0) >= data["limit"]:  # it cut something
        out.append(f"--limit {data['limit']}")
    if data.get("exclude_overlap"):
        how = " (from stored sums)" if "overlap_exclusion" in result else ""
        out.append(f"--exclude-overlap {Path(data['exclude_overlap']).name}{how}")
    if data.get("preset") not in (None, "paper"):
        out.append(f"--preset {data['preset']}")
    if data.get("detokenizer") not in (None, "default"):
        out.append(f"--detokenizer {data['detokenizer']}")
    for opt in options:
        paper = opt.paper_value(cls, values)
        if not opt.protocol or values[opt.name] == paper:
            continue
        older = opt.name not in protocol and opt.absent_means is not DEFAULT
        out.append(f"{opt.flag} {values[opt.name]}" + (" (older result)" if older else ""))
    if result["model"].get("dtype") not in (None, "float32"):
        out.append(result["model"]["dtype"])
    if note := unpublished_data(result):
        out.append(note)
    return out




def pick(results: list[tuple[Path, dict]], task: str, notes: set) -> tuple[Path, dict] | None:
    """The result for a column's task: the task itself, else a variant; the newest of several."""
    exact = [r for r in results if r[1]["task"] == task]
    variants = [r for r in results if r[1]["task"].startswith(task + "-")]
    for found in (exact, variants):
        if found:
            chosen = max(found, key=lambda r: r[1].get("created_at", ""))
            notes.update(f"note: {chosen[1]['model']['name']} / {task}: {chosen[0]} replaces {path} (newer)"
                         for path, _ in found if path != chosen[0])
            return chosen
    return None


def tidy(results: list[tuple[Path, dict]], fallback: str | None = NEAREST) -> pd.DataFrame:
    """One row per (model, Table 3 column) with numbers in display units (% for accuracies)."""
    by_model: dict[str, list] = {}
    for path, r in results:
        by_model.setdefault(r["model"]["name"], []).append((path, r))
    size = {m: min(r["model"].get("n_parameters") or 0 for _, r in rs) for m, rs in by_model.items()}
    rows, notes = [], set()
    for model in sorted(by_model, key=lambda m: (size[m], m)):
        versus = paper_model_for(model, fallback, size[model])
        for col in columns():
            found = pick(by_model[model], col["task"], notes)
            rows.append(cell(model, versus, col, *(found or (None, None))))
    for note in sorted(notes):
        print(note, file=sys.stderr)
    import pandas as pd

    return pd.DataFrame(rows)


def cell(model: str, versus: str | None, col: dict, path: Path | None, result: dict | None) -> dict:
    scale = 100.0 if col["unit"] == "%" else 1.0
    paper = paper_value(col["task"], versus, col["metric"]) if versus else None
    ours = lo = hi = math.nan
    differs: list[str] = []
    if result is not None and col["metric"] in result["metrics"]:
        ours = result["metrics"][col["metric"]] * scale
        edited = bool(sums_disagree(result) & {col["metric"], "totals"})
        interval = None if edited else ((result.get("ci95") or {}).get(col["metric"])) if "ci95" in result else _ci(result, col["metric"])
        lo, hi = (v * scale for v in interval) if interval else (math.nan, math.nan)
        differs = protocol_differences(result) + ([f"task {result['task']}"] if result["task"] != col["task"] else [])
        differs += [EDITED] if edited else []
    diff = ours - paper if paper is not None else math.nan
    better = None if math.isnan(diff) or diff == 0 else (diff < 0) == (col["direction"] == "lower")
    return {
        "model": model, "paper_model": versus or "", "column": col["column"], "task": col["task"], "metric": col["metric"],
        "unit": col["unit"], "direction": col["direction"], "ours": ours, "ci_lo": lo, "ci_hi": hi,
        "paper": math.nan if paper is None else paper, "diff": diff,
        "rel_diff": diff / paper if paper else math.nan, "better": better,
        "differs": "; ".join(differs), "file": "" if path is None else str(path),
    }


def _ci(result: dict, metric: str):
    """A result written before intervals were stored: recompute from its sums."""
    from gpt2eval.results.bootstrap import ci_from_result

    if "per_document" not in result:
        return None
    return (ci_from_result(result) or {}).get(metric)


def wide(frame: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Rows ``ours`` / ``paper <size>`` / ``Δ`` per model, and the † footnotes."""
    import pandas as pd

    marks: dict[str, str] = {}
    rows = []
    for model, group in frame.groupby("model", sort=False):
        versus = group["paper_model"].iloc[0]
        ours, paper, delta = {"model": model, "": "ours"}, {"model": "", "": f"paper {versus}"}, {"model": "", "": "Δ"}
        for r in group.itertuples():
            digits = 3 if r.unit in ("BPB", "BPC") else 2
            ours[r.column] = _ours(r, digits, marks)
            paper[r.column] = DASH if math.isnan(r.paper) else _paper_text(r.paper, digits)
            delta[r.column] = _delta(r, digits)
        rows += [ours, paper, delta] if versus else [ours]
    notes = [f"†{n} {what}" for what, n in marks.items()]
    return pd.DataFrame(rows), notes


def _ours(r, digits: int, marks: dict) -> str:
    if math.isnan(r.ours):
        return DASH
    text = f"{r.ours:.{digits}f}"
    if not math.isnan(r.ci_lo):
        text += f" ± {(r.ci_hi - r.ci_lo) / 2:.{digits}f}"
    if r.differs:
        text += f" †{marks.setdefault(r.differs, str(len(marks) + 1))}"
    return text


def _paper_text(value: float, digits: int) -> str:
    """As many digits as our numbers, more where the paper printed more (44.575)."""
    text = f"{value:.{digits}f}"
    return text if float(text) == value else f"{value:g}"


def _delta(r, digits: int) -> str:
    if math.isnan(r.diff):
        return DASH
    if round(r.diff, digits) == 0:
        return f"{0:.{digits}f} (same)"
    return f"{r.diff:+.{digits}f} ({r.rel_diff:+.1%}) {'better' if r.better else 'worse'}"


LATEX_PACKAGES = ("booktabs",)  # \toprule, \midrule, \bottomrule of DataFrame.to_latex


def render(frame: pd.DataFrame, fmt: str) -> str:
    if fmt == "csv":
        return frame.to_csv(index=False)
    table, notes = wide(frame)
    if fmt == "markdown":
        table = table.rename(columns=_markdown).apply(lambda column: column.map(_markdown))
        return table.to_markdown(index=False) + "\n\n" + "\n".join(_one_line(n) for n in notes + [LEGEND]) + "\n"
    assert fmt == "latex", f"unknown format {fmt!r}"
    table = table.rename(columns=_latex).apply(lambda column: column.map(_latex))
    body = table.to_latex(index=False, escape=False, column_format="ll" + "r" * (table.shape[1] - 2))
    packages = ", ".join("\\usepackage{%s}" % p for p in LATEX_PACKAGES)
    head = f"% gpt2eval table: needs {packages} in the preamble\n"
    return head + body + "\n".join(rf"{{\footnotesize {_latex(n)}}}\par" for n in notes + [LEGEND]) + "\n"


def _one_line(text: str) -> str:
    return " ".join(str(text).splitlines())


def _markdown(text) -> str:
    """A cell that cannot break its row: ``|`` escaped, line breaks as spaces."""
    return _one_line(text).replace("|", "\\|")


_LATEX = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{",
          "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "<": r"\textless{}", ">": r"\textgreater{}",
          "±": r"$\pm$", "†": r"\dag{}", "–": "--", "−": "--", "Δ": r"$\Delta$"}


def _latex(text: str) -> str:
    """Special characters escaped; ``--`` kept as two hyphens (``-{}-``), not an en-dash."""
    text = str(text)
    return "".join("-{}" if c == "-" and text[i + 1 : i + 2] == "-" else _LATEX.get(c, c) for i, c in enumerate(text))


def build_table(paths: list[str], fmt: str = "markdown", paper_model: str | None = NEAREST, exclude_overlap: str | None = None) -> str:
    results = load_results(paths)
    if not results:
        raise UsageError(f"no gpt2eval result files in {', '.join(paths)}: run `gpt2eval run` first")
    if exclude_overlap:  # metrics recomputed on the clean documents from stored sums (gpt2eval.analysis.overlap)
        from gpt2eval.results.overlap import exclude_from_result, load_overlap

        overlap = load_overlap(exclude_overlap)
        results = [(path, exclude_from_result(r, overlap, exclude_overlap)) for path, r in results]
    return render(tidy(results, paper_model), fmt)
