"""The task registry: entry points in the ``gpt2eval.tasks`` group, ours and third parties'.

A third-party package adds a task with, in its pyproject.toml::

    [project.entry-points."gpt2eval.tasks"]
    my-task = "my_package.tasks:MyTask"   # a gpt2eval.task.Task subclass
"""
from __future__ import annotations

from importlib.metadata import entry_points

from .errors import UsageError

GROUP = "gpt2eval.tasks"


def task_names() -> list[str]:
    return sorted(ep.name for ep in entry_points(group=GROUP))


def get_task_class(name: str):
    found = [ep for ep in entry_points(group=GROUP) if ep.name == name]
    if not found:
        raise UsageError(f"unknown task {name!r}{did_you_mean(name)}: run `gpt2eval tasks` to list them ({', '.join(task_names())})")
    return found[0].load()


def did_you_mean(name: str) -> str:
    """``" (did you mean lambada?)"`` for a near miss such as ``lambda``, else ``""``."""
    import difflib

    close = difflib.get_close_matches(name.lower(), task_names(), n=2, cutoff=0.6)
    return f" (did you mean {' or '.join(close)}?)" if close else ""


def unique_task_names(names) -> list[str]:
    """Names in order, each once (the same task given twice runs once), each a known task."""
    names = list(dict.fromkeys(names))
    for name in names:
        get_task_class(name)
    return names
