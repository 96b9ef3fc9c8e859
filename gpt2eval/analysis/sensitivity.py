"""Sensitivity: what each unstated protocol choice is worth, one choice varied at a time.

From the preset's reading (the base run), every choice the task reads is set to each of
its other values while all the rest stay put, with one loaded model::

    choice            values tried                         tasks
    stride            --strides (default L/2 and 32)       stream tasks
    eos_prefix        on, off                              stream tasks; lambada as-is
    last_window       right, stride                        stream tasks
    lambada_format    openai, as-is, lm-eval, bflm         lambada
    stopword_filter   word, token                          lambada
    stopwords         nltk179, nltk127                     lambada
    stopword_steps    3, 6                                 lambada, token filter
    lambada_match     bare, bert                           lambada
    detokenizer       default, none, megatron              tasks with a detokenizer
    word_count        paper, megatron                      ptb, wikitext
    word_divisor      words, words-1                       ptb, wikitext
    join / cbt_join   1bw's joins / space, newline         1bw / cbt

Each run is a normal result file plus ``"sweep": {"parameter": "sensitivity", ...}``, so
tables leave it out. The summary has one row per variant: choice, value, the task's
Table 3 metric(s), the difference from the base run and the distance to the paper's
number for the model's size; ``gpt2eval plot`` draws it as a tornado chart.
"""
from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from gpt2eval.errors import UsageError
from gpt2eval.report.sensitivity import label, markdown, summarize
from gpt2eval.results.files import model_slug, write_json

CHOICES = {
    "lambada_format": ("openai", "as-is", "lm-eval", "bflm"),
    "stopword_filter": ("word", "token"),
    "stopwords": ("nltk179", "nltk127"),
    "stopword_steps": (3, 6),  # bflm's plain-text script, its OpenAI-jsonl one
    "lambada_match": ("bare", "bert"),
    "detokenizer": ("default", "none", "megatron"),
    "word_count": ("paper", "megatron"),
    "word_divisor": ("words", "words-1"),
    "cbt_join": ("space", "newline"),
    "join": ("newline", "eos", "space"),
    "eos_prefix": (True, False),
    "last_window": ("right", "stride"),
}
WINDOW_CHOICES = ("stride", "eos_prefix", "last_window")


def default_strides(max_length: int) -> list[int]:
    """L/2 and Megatron's 32, as far as they are below L."""
    return sorted({s for s in (max_length // 2, 32) if 1 <= s < max_length}, reverse=True)


def choices_for(cls, base_window, base_data, strides: list[int]) -> list[tuple[str, object]]:
    """(option, value) of every variant: the task's choices at their non-base values."""
    from gpt2eval.pipeline.presets import reads
    from gpt2eval.engine.stream import StreamTask

    read = reads(cls)
    out = []
    for name, values in CHOICES.items():
        if name not in read:
            continue
        if name == "detokenizer":
            if not cls.detokenizer:  # nothing to undo: every value scores the same text
                continue
            values = [v for v in values if v != "megatron" or cls.megatron]
        if name == "eos_prefix" and not issubclass(cls, StreamTask) and (base_data.lambada_format or cls.defaults.get("lambada_format")) not in (None, "as-is"):
            continue  # LAMBADA's openai, lm-eval and bflm contexts have their own start
        if name == "stopword_steps" and (base_data.stopword_filter or cls.defaults.get("stopword_filter")) != "token":
            continue  # the word filter takes no steps
        values = [v for v in values if v in cls.choices.get(name, values)]
        base = getattr(base_window if name in WINDOW_CHOICES else base_data, name)
        base = cls.defaults.get(name) if base is None else base
        out += [(name, v) for v in values if v != base]
    if issubclass(cls, StreamTask):
        out += [("stride", s) for s in strides if s != base_window.stride]
    return out


def run_sensitivity(task_name: str, model_cfg, window_cfg, data_cfg, strides: list[int] | None = None,
                    output: str | None = None, paper_model: str | None = None, quiet: bool = False, echo=print) -> dict:
    """Score the base run and every variant; write results, the summary and the tornado chart."""
    from gpt2eval.pipeline.evaluate import evaluate_task, prepare
    from gpt2eval.engine.lm import LM
    from gpt2eval.models.loading import load_model
    from gpt2eval.engine.progress import Progress
    from gpt2eval.registry import get_task_class
    from gpt2eval.analysis.sweep import check_strides, model_context

    cls = get_task_class(task_name)
    base_task, base_docs = prepare(task_name, data_cfg, window_cfg)  # every data problem before the model
    length = window_cfg.max_length or model_context(model_cfg)
    if strides is not None and length is not None:
        check_strides(strides, length, "the window length")
    out_dir = Path(output) if output else Path("results") / model_slug(model_cfg.model) / "sensitivity"
    loaded = load_model(model_cfg)
    length = length or loaded.context_length
    strides = default_strides(length) if strides is None else strides
    base_window = replace(base_task.window, stride=base_task.window.stride or length)
    variants = choices_for(cls, base_window, base_task.data, strides)
    prepared = [(None, None, base_task, base_docs)]
    for option, value in variants:  # prepared up front: a bad combination fails before scoring
        window = replace(window_cfg, **{option: value}) if option in WINDOW_CHOICES else window_cfg
        data = replace(data_cfg, **{option: value}) if option not in WINDOW_CHOICES else data_cfg
        prepared.append((option, value, *prepare(task_name, data, window)))
    progress = Progress(enabled=not quiet)
    runs = []
    for option, value, task, docs in prepared:
        result = evaluate_task(task, docs, LM(loaded, task.window, progress=progress), model_cfg)
        result["sweep"] = {"parameter": "sensitivity", "choice": option, "value": value, "preset": base_task.data.preset}
        name = "base" if option is None else f"{option}-{value}".replace("_", "-").lower()
        path = out_dir / f"{task.name}-{name}.json"
        write_json(result, path)
        runs.append(result)
        what = f"{base_task.data.preset} preset" if option is None else label(option, value)
        echo(f"{task.name} {what}: {result['headline']}={result['metrics'][result['headline']]:.4f} -> {path}")
    summary = summarize(runs, paper_model)
    summary_path = out_dir / f"{cls.name}-sensitivity.json"
    summary_path.write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")
    (out_dir / f"{cls.name}-sensitivity.md").write_text(markdown(summary), encoding="utf-8")
    from gpt2eval.report.figures import save
    from gpt2eval.report.tornado import tornado_figure

    figure = save(tornado_figure(summary), out_dir / f"{cls.name}-tornado.png")[0]
    echo(markdown(summary))
    echo(f"summary -> {summary_path}; figure -> {figure}")
    return summary


def parse_strides_option(text: str | None) -> list[int] | None:
    from gpt2eval.analysis.sweep import parse_strides

    if text is None:
        return None
    if not text.strip():
        raise UsageError("--strides is empty: give e.g. 512,256,32")
    return parse_strides(text)
