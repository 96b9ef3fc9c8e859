"""Presets: the protocol choices of one peer, filled into the options a user did not give.

The paper leaves many details unstated (README, "Why your number differs"); each is an
option, and a preset is one consistent reading of all of them:

    option            paper (default)   lm-eval 0.4           megatron (zeroshot_gpt)   bflm (LAMBADA only)
    --lambada-format  openai            lm-eval               as-is                     bflm
    --detokenizer     default           megatron (WikiText)   megatron (PTB, WikiText,  default
                                                              LAMBADA: the identity)
    --eos-prefix      yes               yes                   no                        (not read)
    --stride          L (disjoint)      L (disjoint)          32                        -
    --last-window     right             right                 stride                    -
    --word-count      paper             paper                 megatron                  -
    --word-divisor    words             words                 words-1                   -
    --stopword-filter word              word                  word                      token (6 steps, top 128)
    --stopwords       nltk179           nltk179               nltk179                   nltk127
    --lambada-match   bare              bare                  bare                      bert

cybertronai/bflm's ``eval_lambada_slow.py`` (at 620fff7) scores LAMBADA only, so
``--preset bflm`` refuses any other task.

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

PRESETS = ("paper", "lm-eval", "megatron", "bflm")
ONLY = {"bflm": ("lambada",)}  # presets of a peer that scored only these tasks
# What each preset sets, by option; a value may depend on the task class (a callable).
_VALUES: dict[str, dict] = {
    "paper": {"lambada_format": "openai", "detokenizer": "default", "eos_prefix": True, "stride": None, "last_window": "right"},
    "lm-eval": {
        "lambada_format": "lm-eval",
        "detokenizer": lambda cls: "megatron" if cls.megatron == "wikitext" else "default",
        "eos_prefix": True,
        "stride": None,
        "last_window": "right",
    },
    "megatron": {
        "lambada_format": "as-is",
        "detokenizer": lambda cls: "megatron" if cls.megatron else "default",
        "eos_prefix": False,
        "stride": 32,
        "last_window": "stride",
        "word_count": "megatron",
        "word_divisor": "words-1",
    },
    "bflm": {
        "lambada_format": "bflm",
        "detokenizer": "default",
        "eos_prefix": False,  # bflm feeds the passage alone; its format reads no prefix anyway
        "stopword_filter": "token",
        "stopwords": "nltk127",  # and the token filter's defaults: top 128, 6 steps
        "lambada_match": "bert",
    },
}
WINDOW_FIELDS = ("eos_prefix", "stride", "last_window")


def reads(cls) -> set[str]:
    """The preset-filled options a task class reads."""
    from gpt2eval.engine.stream import StreamTask

    out = set(cls.options) | {"detokenizer"}
    if issubclass(cls, StreamTask):
        out |= {"stride", "eos_prefix", "last_window"}
    if getattr(cls, "reads_eos_prefix", False):
        out.add("eos_prefix")
    return out


def preset_value(preset: str, name: str, cls):
    """What ``preset`` sets ``name`` to for task class ``cls`` (None: not set): the task's own
    reading of that peer (``Task.peer_options``), else the table's value where the task
    allows it, else the task's default."""
    own = getattr(cls, "peer_options", {}).get(preset, {})
    if name in own:
        return own[name]
    value = _VALUES[preset].get(name)
    value = value(cls) if callable(value) else value
    allowed = getattr(cls, "choices", {}).get(name)
    return cls.defaults.get(name) if value is not None and allowed and value not in allowed else value


def resolve(cls, window: WindowConfig, data: DataConfig) -> tuple[WindowConfig, DataConfig]:
    """The configs a task of class ``cls`` runs with: the user's options, then the preset's.

    ``preset``, ``detokenizer`` and ``eos_prefix`` always come out resolved; an option the
    preset leaves alone stays None, read as the task's default (``Task.option``), and the
    result's ``config.protocol`` records every task option as run.
    """
    preset = data.preset or "paper"
    if preset not in PRESETS:
        raise UsageError(f"--preset {preset!r} is not one of {', '.join(PRESETS)}")
    if preset in ONLY and cls.name not in ONLY[preset]:
        raise UsageError(f"--preset {preset}: that peer scored only {', '.join(ONLY[preset])}, not {cls.name}: "
                         f"run {cls.name} under another preset")
    read = reads(cls)
    given_window = {f.name: getattr(window, f.name) for f in fields(window)}
    for name in WINDOW_FIELDS:
        if given_window[name] is None and name in read:
            given_window[name] = preset_value(preset, name, cls)
    if given_window["eos_prefix"] is None:  # a task that reads no prefix: record the preset's
        given_window["eos_prefix"] = bool(preset_value(preset, "eos_prefix", cls))
    if given_window["last_window"] is None:  # a task without streams: nothing to align
        given_window["last_window"] = "right"
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
