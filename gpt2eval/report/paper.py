"""The paper's Table 3 as data: one CSV, the single source for `tasks`, tables and plots.

Values are exactly as printed in the paper; ``unit`` "%" means our metric (a fraction)
is multiplied by 100 before comparing.
"""
from __future__ import annotations

import csv
from functools import lru_cache
from importlib import resources


@lru_cache(maxsize=1)
def table3() -> list[dict]:
    """Rows of ``column, task, metric, unit, direction, model, params, value`` (value as float)."""
    text = resources.files("gpt2eval").joinpath("data/resources/gpt2_table3.csv").read_text(encoding="utf-8")
    rows = list(csv.DictReader(text.splitlines()))
    for row in rows:
        row["value"] = float(row["value"])
    return rows


def columns() -> list[dict]:
    """The ten Table 3 columns in the paper's order: column, task, metric, unit, direction."""
    seen = {}
    for row in table3():
        seen.setdefault(row["column"], {k: row[k] for k in ("column", "task", "metric", "unit", "direction")})
    return list(seen.values())


def paper_value(task: str, model: str = "gpt2-large", metric: str | None = None) -> float | None:
    for row in table3():
        if row["task"] == task and row["model"] == model and (metric is None or row["metric"] == metric):
            return row["value"]
    return None


@lru_cache(maxsize=1)
def table6() -> list[dict]:
    """The paper's Table 6, "Percentage of test set 8 grams overlapping with training sets".

    Rows of ``column, task, row, statistic, source, value`` (value in %, as printed): the
    twelve cells (``row`` "Dataset train" or "WebText train", ``statistic``
    "ngram_percent"), plus section 4's "On LAMBADA, the average overlap is 1.2%"
    (``statistic`` "mean_document_percent": a mean over passages, not a Table 6 cell).
    """
    text = resources.files("gpt2eval").joinpath("data/resources/gpt2_table6.csv").read_text(encoding="utf-8")
    rows = list(csv.DictReader(text.splitlines()))
    for row in rows:
        row["value"] = float(row["value"])
    return rows


def paper_overlap(task: str, row: str) -> tuple[float, str] | None:
    """(value in %, statistic) of the paper's overlap for a task and row ("WebText train" | "Dataset train")."""
    for r in table6():
        if r["task"] == task and r["row"] == row:
            return r["value"], r["statistic"]
    return None


def sizes() -> dict[str, float]:
    """The GPT-2 sizes' parameter counts as the paper prints them: {"gpt2": 117e6, ...}."""
    return {r["model"]: float(r["params"].rstrip("M")) * 1e6 for r in table3() if r["params"]}
