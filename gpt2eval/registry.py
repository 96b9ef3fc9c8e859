"""The task registry: entry points in the ``gpt2eval.tasks`` group, ours and third parties'.

A third-party package adds a task with, in its pyproject.toml::

    [project.entry-points."gpt2eval.tasks"]
    my-task = "my_package.tasks:MyTask"   # a gpt2eval.task.Task subclass
"""
from __future__ import annotations

from functools import lru_cache
from importlib.metadata import entry_points

from .errors import UsageError

GROUP = "gpt2eval.tasks"


@lru_cache(maxsize=1)
def _entry_points() -> dict:
    """name -> entry point, read once: each scan of the installed packages costs ~20 ms."""
    found: dict = {}
    for ep in entry_points(group=GROUP):
        found.setdefault(ep.name, ep)
    return found


def task_names() -> list[str]:
    return sorted(_entry_points())


def get_task_class(name: str):
    found = _entry_points().get(name)
    if found is None:
        raise UsageError(f"unknown task {name!r}: run `gpt2eval tasks` to list them ({', '.join(task_names())})")
    return found.load()
