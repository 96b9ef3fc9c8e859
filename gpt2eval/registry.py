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
# lm-eval's names, only where the task is the same data scored for the same metric.
ALIASES = {"lambada_openai": "lambada", "lambada_standard": "lambada-standard", "wikitext": "wikitext2-raw"}


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


def unique_task_names(names) -> list[str]:
    """Names in order, each once (the same task given twice runs once), each a known task."""
    names = list(dict.fromkeys(canonical_name(n) for n in names))
    for name in names:
        get_task_class(name)
    return names
