"""Presets: the protocol choices of one peer, filled into the options a user did not give.

The paper leaves many details unstated (README, "Why your number differs"); each is an
option, and a preset is one consistent reading of all of them:

    option            paper (default)   lm-eval 0.4              megatron (zeroshot_gpt)
    --lambada-format  openai            lm-eval                  as-is
    --detokenizer     default           megatron (WikiText)      megatron (PTB, WikiText, LAMBADA)
    --eos-prefix      yes               yes                      no
    --stride          L (disjoint)      L (disjoint)             32
    --word-count      paper             paper                    megatron

A preset fills only options that were not given AND that the task reads; the other
protocol options take the task's documented default (the paper's reading). The result
records the preset's name (``config.data.preset``), the window as run and every task option
as run (``config.protocol``), so a table can mark what differs.
Resolution happens before any data loads (``resolve``), so a bad combination is an error
before the model loads.
"""
from __future__ import annotations

from dataclasses import fields, replace

from gpt2eval.config import DataConfig, WindowConfig
from gpt2eval.errors import UsageError

PRESETS = ("paper", "lm-eval", "megatron")
# What each preset sets, by option; a value may depend on the task class (a callable).
_VALUES: dict[str, dict] = {
    "paper": {"lambada_format": "openai", "detokenizer": "default", "eos_prefix": True, "stride": None},
    "lm-eval": {
        "lambada_format": "lm-eval",
        "detokenizer": lambda cls: "megatron" if cls.megatron == "wikitext" else "default",
        "eos_prefix": True,
        "stride": None,
    },
    "megatron": {
        "lambada_format": "as-is",
        "detokenizer": lambda cls: "megatron" if cls.megatron else "default",
        "eos_prefix": False,
        "stride": 32,
        "word_count": "megatron",
    },
}
WINDOW_FIELDS = ("eos_prefix", "stride")


def reads(cls) -> set[str]:
    """The preset-filled options a task class reads."""
    from gpt2eval.engine.stream import StreamTask

    out = set(cls.options) | {"detokenizer"}
    if issubclass(cls, StreamTask):
        out |= {"stride", "eos_prefix"}
    if getattr(cls, "reads_eos_prefix", False):
        out.add("eos_prefix")
    return out


def preset_value(preset: str, name: str, cls):
    """What ``preset`` sets ``name`` to for task class ``cls`` (None: not set)."""
    value = _VALUES[preset].get(name)
    return value(cls) if callable(value) else value


def resolve(cls, window: WindowConfig, data: DataConfig) -> tuple[WindowConfig, DataConfig]:
    """The configs a task of class ``cls`` runs with: the user's options, then the preset's.

    ``preset``, ``detokenizer`` and ``eos_prefix`` always come out resolved; an option the
    preset leaves alone stays None, read as the task's default (``Task.option``), and the
    result's ``config.protocol`` records every task option as run.
    """
    preset = data.preset or "paper"
    if preset not in PRESETS:
        raise UsageError(f"--preset {preset!r} is not one of {', '.join(PRESETS)}")
    read = reads(cls)
    given_window = {f.name: getattr(window, f.name) for f in fields(window)}
    for name in WINDOW_FIELDS:
        if given_window[name] is None and name in read:
            given_window[name] = preset_value(preset, name, cls)
    if given_window["eos_prefix"] is None:  # a task that reads no prefix: record the preset's
        given_window["eos_prefix"] = bool(preset_value(preset, "eos_prefix", cls))
    updates = {"preset": preset}
    for f in fields(data):
        if getattr(data, f.name) is not None or f.name not in read or f.name == "preset":
            continue
        value = preset_value(preset, f.name, cls)
        if value is not None:
            updates[f.name] = value
    if data.detokenizer is None and "detokenizer" not in updates:
        updates["detokenizer"] = "default"
    return replace(window, **given_window), replace(data, **updates)
