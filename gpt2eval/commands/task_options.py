"""Task options on the command line: one flag per option the registered tasks declare.

A command that takes task options is built with ``cls=TaskCommand``; its flags come from
the declarations (``gpt2eval.engine.options.Option``) when it parses its arguments or
shows its help, so `gpt2eval --help` loads no task. A flag is the option's name
(``--lambada-format``), typed by its choices; its help names the tasks that read it and
what the presets set. Each old name is a hidden alias that warns on stderr. The tasks
check the values and refuse options they do not declare (``Task``);
``gpt2eval.pipeline.presets.per_task`` gives each of several tasks only its own.
"""
from __future__ import annotations

import click

from gpt2eval.config import PRESETS
from gpt2eval.errors import UsageError

# Click parameter names: option__<name>, and alias__<old name>__<name> (names hold no "__").
OPTION, ALIAS = "option__", "alias__"


class TaskCommand(click.Command):
    """A click command with a flag per declared task option, placed after the data options.

    ``task_options="data"`` takes only the options that pick the data read (``selects_data``).
    """

    def __init__(self, *args, task_options: str = "all", **kwargs):
        super().__init__(*args, **kwargs)
        assert task_options in ("all", "data"), task_options
        self.task_options = task_options
        self._generated: tuple[tuple, list] | None = None  # (registered tasks, params), rebuilt if they change

    def get_params(self, ctx) -> list:
        from gpt2eval.registry import task_names

        registered = tuple(task_names())
        if self._generated is None or self._generated[0] != registered:
            taken = {flag for p in self.params for flag in (*p.opts, *p.secondary_opts)}
            self._generated = (registered, task_option_params(self.task_options == "data", taken))
        params = super().get_params(ctx)
        data = {"data_dir", "data_file", "limit", "detokenizer", "allow_data_mismatch", "exclude_overlap"}
        at = max((i + 1 for i, p in enumerate(params) if p.name in data), default=len(self.params))
        return [*params[:at], *self._generated[1], *params[at:]]


def task_option_params(data_only: bool, taken: set[str]) -> list[click.Option]:
    """The flags of every registered task's options, then a hidden one per old name."""
    declared, readers = _declared(data_only)
    params = []
    for opt in declared.values():
        if opt.flag in taken:  # a task cannot take over one of gpt2eval's own flags
            _warn(f"task {readers[opt.name][0]} declares {opt.flag}, a flag gpt2eval has already: its option is left out")
            continue
        params.append(click.Option([opt.flag, OPTION + opt.name], type=_type(opt), default=None,
                                   help=_help(opt, readers[opt.name])))
        taken.add(opt.flag)
    for opt in declared.values():
        for old in opt.old_names:
            flag = "--" + old.replace("_", "-")
            if flag not in taken:  # an old name never shadows a current flag
                params.append(click.Option([flag, f"{ALIAS}{old}__{opt.name}"], type=_type(opt), default=None, hidden=True,
                                           callback=_deprecated(flag, opt.flag)))
                taken.add(flag)
    return params


def given_task_options(opts: dict) -> dict:
    """{option name: value} of the task flags given (old names read as current ones)."""
    given = {key.removeprefix(OPTION): v for key, v in opts.items() if key.startswith(OPTION) and v is not None}
    for key, value in opts.items():
        if key.startswith(ALIAS) and value is not None:
            old, name = key.removeprefix(ALIAS).split("__")
            if given.get(name, value) != value:
                old_flag, flag = (f"--{n.replace('_', '-')}" for n in (old, name))
                raise UsageError(f"{old_flag} and {flag} both given: drop {old_flag}")
            given[name] = value
    return given


def _declared(data_only: bool) -> tuple[dict, dict]:
    """({name: Option}, {name: [tasks reading it]}) over the registered tasks."""
    from gpt2eval.registry import get_task_class, task_names

    declared: dict = {}
    readers: dict[str, list[str]] = {}
    for task in task_names():
        try:
            cls = get_task_class(task)
        except Exception as e:  # noqa: BLE001 - a broken plugin must not take the other tasks' flags with it
            _warn(f"task {task} could not be loaded ({type(e).__name__}: {e}): its options are left out")
            continue
        for opt in getattr(cls, "options", ()):
            if data_only and not opt.selects_data:
                continue
            if declared.setdefault(opt.name, opt) != opt:
                _warn(f"task {task} declares {opt.flag} unlike task {readers[opt.name][0]}: its declaration is left out")
                continue
            readers.setdefault(opt.name, []).append(task)
    return declared, readers


def _type(opt):
    if opt.choices and opt.type is str:
        return click.Choice(opt.choices)
    return {int: click.INT, float: click.FLOAT}.get(opt.type, click.STRING)


def _help(opt, readers: list[str]) -> str:
    """"TASKS: help [default: D; --preset P: V, ...] (was --OLD)"."""
    notes = [] if callable(opt.default) else [f"default: {opt.default}"]
    for preset in PRESETS:
        value = opt.presets.get(preset)
        if value is not None and value != opt.default:
            notes.append(f"--preset {preset}: {'per task' if callable(value) else value}")
    old = ", ".join("--" + o.replace("_", "-") for o in opt.old_names)
    if opt.applies:
        notes.insert(0, f"only under --{opt.applies[0].replace('_', '-')} {opt.applies[1]}")
    return (f"{', '.join(readers)}: {opt.help}" + (f" [{'; '.join(notes)}]" if notes else "")
            + (f" (was {old})" if old else "") + ("" if opt.protocol else " Not a protocol choice."))


def _deprecated(flag: str, current: str):
    def warn(ctx, param, value):
        if value is not None:
            _warn(f"{flag} is deprecated: use {current}")
        return value

    return warn


def _warn(message: str) -> None:
    click.echo(f"warning: {message}", err=True)
