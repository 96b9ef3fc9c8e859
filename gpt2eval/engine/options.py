"""Task options: each declared once, as data, by the task that reads it.

A task lists the options it reads in ``Task.options``; everything else comes from that
one declaration, so a task in another package adds an option with no edit here::

    field          what it gives                                       read by
    name, help     the flag --name (``_`` -> ``-``), its help          commands/task_options.py
    choices, type  the flag's type; the one-line error for a bad value  check_values
    default        the value when neither user nor preset gives one    resolved_values
    presets        the value each --preset fills in                    pipeline/presets.py
    protocol       a value other than the paper's is marked †, and     report/table.py,
                   two results must agree on it to be compared          report/compare.py
    variants       the values `gpt2eval sensitivity` tries             analysis/sensitivity.py
    old_names      deprecated flags (a warning on stderr), and the     commands/task_options.py,
                   keys older result files recorded it under           current_names
    absent_means   what a result that does not record it ran with      report/
    applies        (option, value): read only when that other option   check_applies,
                   has that value; given otherwise, refused             analysis/sensitivity.py
    selects_data   it picks the file read: `detok-check` and           commands/task_options.py
                   `overlap` take it too

An example, from the plugin in examples/gpt2eval-proverbs::

    SEPARATOR = Option("proverbs_separator", choices=("newline", "space"), default="newline",
                       presets={"lm-eval": "space"}, help="what separates the proverbs in the stream")

A result records every option as run in ``config.protocol`` and the given ones (the
user's and the preset's) in ``config.data`` (``DataConfig.record``).
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from gpt2eval.config import PRESETS
from gpt2eval.errors import UsageError

_NAME = re.compile(r"^[a-z0-9]+(_[a-z0-9]+)*$")  # a flag without surprises; no "__" (commands/task_options.py)


class _Default:
    def __repr__(self) -> str:
        return "DEFAULT"


DEFAULT = _Default()  # absent_means: a result that does not record the option ran with its default


@dataclass(frozen=True)
class Option:
    """One task option. ``default`` and each ``presets`` value may be callables:
    ``default(values)`` reads the other options' values (a dict by name), a preset's
    ``value(task_class)`` the task it is resolved for."""

    name: str
    help: str
    default: Any = None
    choices: tuple = ()
    type: type = str
    minimum: int | None = None  # for numbers: the least allowed value
    protocol: bool = True  # a protocol choice: marked † when it differs from the paper's, compared by `compare`
    presets: Mapping[str, Any] = field(default_factory=dict, hash=False)  # preset -> value; absent: the preset leaves it
    variants: tuple | None = None  # what `sensitivity` tries [default: the choices]
    old_names: tuple[str, ...] = ()
    absent_means: Any = DEFAULT
    selects_data: bool = False
    applies: tuple | None = None  # (other option, value): read only under that value

    def __post_init__(self):
        assert _NAME.match(self.name), f"option name {self.name!r}: lower-case letters and digits joined by single _"
        assert all(_NAME.match(old) for old in self.old_names), f"{self.name}: old names {self.old_names} are not flag names"
        assert set(self.presets) <= set(PRESETS), f"{self.name}: presets {sorted(self.presets)} are not all in {PRESETS}"
        assert all(isinstance(c, self.type) for c in self.choices), f"{self.name}: choices {self.choices} are not {self.type}"
        if self.choices and not callable(self.default):
            assert self.default in self.choices, f"{self.name}: default {self.default!r} is not one of {self.choices}"

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    def check(self, value: Any) -> None:
        """A bad value is a one-line error naming the flag (``UsageError``)."""
        if self.type in (int, float) and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise UsageError(f"{self.flag} {value!r} is not a number")
        if self.type is str and not isinstance(value, str):
            raise UsageError(f"{self.flag} {value!r} is not text")
        if self.choices and value not in self.choices:
            raise UsageError(f"{self.flag} {value!r} is not one of {', '.join(map(str, self.choices))}")
        if self.minimum is not None and value < self.minimum:
            raise UsageError(f"{self.flag} {value} must be >= {self.minimum}")

    def preset_value(self, preset: str, task_class) -> Any:
        """What ``preset`` sets this option to for ``task_class`` (None: it leaves it alone)."""
        value = self.presets.get(preset)
        return value(task_class) if callable(value) else value

    def paper_value(self, task_class, values: Mapping[str, Any]) -> Any:
        """The value under the paper's reading: the paper preset's, else the default."""
        value = self.preset_value("paper", task_class)
        return self.default_for(values) if value is None else value

    def default_for(self, values: Mapping[str, Any]) -> Any:
        return self.default(values) if callable(self.default) else self.default

    @property
    def tried(self) -> tuple:
        """The values `sensitivity` tries."""
        return self.choices if self.variants is None else self.variants


def current_names(options, record: Mapping[str, Any]) -> dict:
    """``record`` with each option's old names read as its current one (older result files,
    or a config built with an old name); a value under the current name wins."""
    out = dict(record)
    for opt in options:
        for old in opt.old_names:
            if old in out:
                value = out.pop(old)
                out[opt.name] = value if out.get(opt.name) is None else out[opt.name]
    return out


def check_values(task_name: str, options, given: Mapping[str, Any]) -> None:
    """Every given option is one the task declares, with an allowed value."""
    declared = {opt.name: opt for opt in options}
    for name, value in given.items():
        if name not in declared:
            raise UsageError(f"--{name.replace('_', '-')} does not apply to task {task_name}: drop it")
        declared[name].check(value)


def check_applies(options, given: Mapping[str, Any], values: Mapping[str, Any]) -> None:
    """A given option that the others' values leave unread is refused, not ignored."""
    for opt in options:
        if opt.applies and given.get(opt.name) is not None and not applies(opt, values):
            other, value = opt.applies
            raise UsageError(f"{opt.flag} applies under --{other.replace('_', '-')} {value} only: drop it")


def applies(opt: Option, values: Mapping[str, Any]) -> bool:
    """Whether ``opt`` is read under these option values."""
    return opt.applies is None or values.get(opt.applies[0]) == opt.applies[1]


def resolved_values(options, given: Mapping[str, Any]) -> dict:
    """Every option's value by name: the given one, else its default (defaults that read
    other options are computed last, from the values of the others)."""
    values = {opt.name: given.get(opt.name) for opt in options}
    for late in (False, True):
        for opt in options:
            if values[opt.name] is None and callable(opt.default) == late:
                values[opt.name] = opt.default_for(values)
    return values


def recorded_values(options, protocol: Mapping[str, Any]) -> dict:
    """The values a result ran with, from its ``config.protocol``: what it records (under
    current names), else what a result without the option ran with (``absent_means``)."""
    recorded = current_names(options, protocol)
    given = {opt.name: recorded[opt.name] if opt.name in recorded else
             (None if opt.absent_means is DEFAULT else opt.absent_means) for opt in options}
    return resolved_values(options, given)



def task_options(task_name: str) -> tuple:
    """The options a registered task declares (none for a task this installation lacks)."""
    from gpt2eval.registry import get_task_class

    try:
        return get_task_class(task_name).options
    except UsageError:
        return ()
