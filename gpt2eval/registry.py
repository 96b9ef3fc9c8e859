"""The task registry: entry points in the ``gpt2eval.tasks`` group, ours and third parties'.

A third-party package adds a task with, in its pyproject.toml::

    [project.entry-points."gpt2eval.tasks"]
    my-task = "my_package.tasks:MyTask"   # a gpt2eval.engine.task.Task subclass
"""
from __future__ import annotations

from functools import lru_cache
from importlib.metadata import entry_points

from gpt2eval.errors import UsageError

GROUP = "gpt2eval.tasks"
# lm-eval's names mean lm-eval's tasks: `wikitext` is lm-eval's own reading already; the
# LAMBADA names run their task under the preset that makes it lm-eval's (``ALIAS_PRESETS``).
ALIASES = {"lambada_openai": "lambada", "lambada_standard": "lambada-standard", "wikitext": "wikitext2-lmeval"}
ALIAS_PRESETS = {"lambada_openai": "lm-eval", "lambada_standard": "lm-eval"}


@lru_cache(maxsize=1)
def _entry_points() -> dict:
    """name -> entry point, read once: each scan of the installed packages costs ~20 ms."""
    found: dict = {}
    for ep in entry_points(group=GROUP):
        found.setdefault(ep.name, ep)
    return found


def task_names() -> list[str]:
    return sorted(_entry_points())


def canonical_name(name: str) -> str:
    """A task's registered name: ``name`` itself, or the task an lm-eval alias stands for."""
    return name if name in _entry_points() else ALIASES.get(name, name)


def get_task_class(name: str):
    found = _entry_points().get(canonical_name(name))
    if found is None:
        raise UsageError(f"unknown task {name!r}{did_you_mean(name)}: run `gpt2eval tasks` to list them ({', '.join(task_names())})")
    return found.load()


def did_you_mean(name: str) -> str:
    """``" (did you mean lambada?)"`` for a near miss such as ``lambda``, else ``""``."""
    import difflib

    close = difflib.get_close_matches(name.lower(), task_names(), n=2, cutoff=0.6)
    return f" (did you mean {' or '.join(close)}?)" if close else ""


def implied_presets(names) -> dict[str, str]:
    """``{task: preset}`` that lm-eval's names among ``names`` (as typed) imply.

    The same task asked for under two readings (``lambada`` and ``lambada_openai``) is
    an error: one result file per task.
    """
    out: dict[str, str | None] = {}
    for name in dict.fromkeys(names):
        task, preset = canonical_name(name), ALIAS_PRESETS.get(name)
        if task in out and out[task] != preset:
            raise UsageError(f"{name} and {task} are one task read two ways: run them separately, with different --output")
        out[task] = preset
    return {task: preset for task, preset in out.items() if preset}


def with_implied_preset(data, name: str, presets: dict[str, str]):
    """``data`` (a ``DataConfig``) for task ``name``: the preset an lm-eval name implies, filled
    in; a different ``--preset`` given beside that name is refused."""
    from dataclasses import replace

    implied = presets.get(name)
    if implied is None or data.preset == implied:
        return data
    if data.preset is not None:
        alias = next(a for a, t in ALIASES.items() if t == name and ALIAS_PRESETS.get(a) == implied)
        raise UsageError(f"--task {alias} is lm-eval's task, read under --preset {implied}, not --preset {data.preset}: "
                         f"use --task {name} for the {data.preset} reading")
    return replace(data, preset=implied)


def unique_task_names(names) -> list[str]:
    """Names in order, each once (the same task given twice runs once), each a known task."""
    names = list(dict.fromkeys(canonical_name(n) for n in names))
    for name in names:
        get_task_class(name)
    return names
