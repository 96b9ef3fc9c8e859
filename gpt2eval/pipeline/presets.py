"""Presets: the protocol choices of one peer, filled into the options a user did not give.

The paper leaves many details unstated (README, "Why your number differs"); each is an
option, and a preset is one consistent reading of all of them. The generic options:

    option            paper (default)   lm-eval 0.4              megatron (zeroshot_gpt)             bflm
    --detokenizer     default           megatron (WikiText)      megatron (PTB, WikiText, LAMBADA)   default
    --eos-prefix      yes               yes                      no                                  no
    --stride          L (disjoint)      L (disjoint)             32                                  -
    --last-window     right             right                    stride                              -

cybertronai/bflm's ``eval_lambada_slow.py`` (at 620fff7) scored LAMBADA only, so
``--preset bflm`` refuses any other task (``ONLY``); its LAMBADA choices are LAMBADA's
options' (``tasks/lambada.py``).

A task option says what each preset sets it to in its own declaration (``Option.presets``,
``gpt2eval.engine.options``); ``gpt2eval run --help`` shows it after each flag.

A preset fills only options that were not given AND that the task reads; the other
protocol options take the task's documented default (the paper's reading). The result
records the preset's name (``config.data.preset``), the window as run and every task option
as run (``config.protocol``), so a table can mark what differs.
Resolution happens before any data loads (``resolve``), so a bad combination is an error
before the model loads.
"""
from __future__ import annotations

from dataclasses import replace

from gpt2eval.config import PRESETS, DataConfig, WindowConfig
from gpt2eval.engine.options import current_names
from gpt2eval.errors import UsageError

ONLY = {"bflm": ("lambada",)}  # presets of a peer that scored only these tasks
# What each preset sets, by generic option; a value may depend on the task class (a callable).
_GENERIC: dict[str, dict] = {
    "paper": {"detokenizer": "default", "eos_prefix": True, "stride": None, "last_window": "right"},
    "lm-eval": {
        "detokenizer": lambda cls: "megatron" if cls.megatron == "wikitext" else "default",
        "eos_prefix": True,
        "stride": None,
        "last_window": "right",
    },
    "megatron": {
        "detokenizer": lambda cls: "megatron" if cls.megatron else "default",
        "eos_prefix": False,
        "stride": 32,
        "last_window": "stride",
    },
    "bflm": {"detokenizer": "default", "eos_prefix": False, "stride": None, "last_window": "right"},
}


def preset_value(preset: str, name: str, cls):
    """What ``preset`` sets option ``name`` to for task class ``cls`` (None: not set)."""
    declared = {opt.name: opt for opt in cls.options}
    if name in declared:
        return declared[name].preset_value(preset, cls)
    if name == "detokenizer" and preset in cls.detokenizer_presets:
        return cls.detokenizer_presets[preset]
    value = _GENERIC[preset].get(name)
    return value(cls) if callable(value) else value


def resolve(cls, window: WindowConfig, data: DataConfig) -> tuple[WindowConfig, DataConfig]:
    """The configs a task of class ``cls`` runs with: the user's options, then the preset's.

    ``preset``, ``detokenizer`` and ``eos_prefix`` always come out resolved; a task option
    the preset leaves alone stays unset, read as the task's default (``Task.option``), and
    the result's ``config.protocol`` records every task option as run.
    """
    preset = data.preset or "paper"
    if preset not in PRESETS:
        raise UsageError(f"--preset {preset!r} is not one of {', '.join(PRESETS)}")
    if preset in ONLY and cls.name not in ONLY[preset]:
        raise UsageError(f"--preset {preset}: that peer scored only {', '.join(ONLY[preset])}, not {cls.name}: "
                         f"run {cls.name} under another preset")
    stride = window.stride
    if stride is None and cls.scores_stream:
        stride = preset_value(preset, "stride", cls)
    last_window = window.last_window
    if last_window is None:  # a task without a stream has no last window to move
        last_window = preset_value(preset, "last_window", cls) if cls.scores_stream else "right"
    eos_prefix = window.eos_prefix
    if eos_prefix is None:  # also where the task reads no prefix: the result records the preset's
        eos_prefix = bool(preset_value(preset, "eos_prefix", cls))
    detokenizer = data.detokenizer or preset_value(preset, "detokenizer", cls) or "default"
    given = current_names(cls.options, dict(data.options))
    filled = {opt.name: opt.preset_value(preset, cls) for opt in cls.options if given.get(opt.name) is None}
    return (replace(window, stride=stride, eos_prefix=eos_prefix, last_window=last_window),
            replace(data, preset=preset, detokenizer=detokenizer, options={**given, **filled}))


def per_task(names: list[str], data: DataConfig) -> dict[str, DataConfig]:
    """Each task's data config, holding only the task options it declares; an option that
    none of the tasks reads is refused (one task: as the task itself would refuse it)."""
    from gpt2eval.registry import get_task_class

    out, read = {}, set()
    for name in names:
        own = {key for opt in get_task_class(name).options for key in (opt.name, *opt.old_names)}
        read |= own
        out[name] = replace(data, options={k: v for k, v in data.options if k in own})
    for key, _ in data.options:
        if key not in read:
            tasks = f"task {names[0]}" if len(names) == 1 else f"tasks {', '.join(names)}"
            raise UsageError(f"--{key.replace('_', '-')} does not apply to {tasks}: drop it")
    return out
